"""Counting a datastore's values per resource x provider x key, and proving each opens.

A current value counts as read only when the resource's transformer really
opens it -- as kube-apiserver would with the same EncryptionConfiguration; a
header alone proves nothing. Older revisions are classified by header only:
they are counted, not served.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from kcrypt.audit.classify import IDENTITY, Classifier, ValueKind, resource_of, writer_of
from kcrypt.audit.report import KeyUse
from kcrypt.codec import stored_form_error
from kcrypt.config import Transformers
from kcrypt.datastore import KeyValue
from kcrypt.envelope import EnvelopeError, ManyReader, leaves

__all__ = ["Tally"]

#: (resource, value, its kind, how much of it is prefix) waiting for a batch read.
_Waiting = tuple["_Resource", KeyValue, ValueKind, int]


def _reason(exc: EnvelopeError) -> str:
    where = f" (key {exc.key_name})" if exc.key_name else ""
    return f"{exc.upstream}{where}"


def _prefix_of(key: str, group: str) -> str:
    """The storage-key prefix every key of the same resource starts with."""
    parts = key.split("/", 4)
    return "/".join(parts[: 4 if group else 3]) + "/"


@dataclass
class _Row:
    count: int = 0
    stale: int = 0
    plaintext: int = 0
    undecryptable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    history: int = 0
    history_old: int = 0


class _Resource:
    """One resource's transformer, writer, whether the config encrypts it, and
    the transformer that first tries a value with each full prefix."""

    __slots__ = ("encrypts", "leaves", "name", "prefix", "transformer", "writer")

    def __init__(self, key: str, transformers: Transformers) -> None:
        group, resource = resource_of(key)
        self.prefix = _prefix_of(key, group)
        self.name = f"{resource}.{group}" if group else resource
        self.transformer = transformers.for_resource(resource, group)
        self.writer = writer_of(self.transformer)
        self.encrypts = self.writer != IDENTITY
        self.leaves = tuple(
            (prefix, leaf if isinstance(leaf, ManyReader) else None)
            for prefix, leaf in leaves(self.transformer)
        )

    def reader(self, value: bytes) -> tuple[int, ManyReader | None]:
        """(prefix length, the reader a batch may use; None: read it alone).

        The first leaf whose full prefix the value starts with is the one
        ``from_storage`` tries first, so a batch read that opens the value gives
        the same answer; anything the batch does not open is read alone."""
        for prefix, leaf in self.leaves:
            if value.startswith(prefix):
                return len(prefix), leaf
        return 0, None


class Tally:
    """Rows per (resource, provider, key), filled page by page."""

    def __init__(self, transformers: Transformers, known_names: tuple[str, ...]) -> None:
        self._transformers = transformers
        self._classify = Classifier(known_names)
        self._resources: dict[tuple[str, str], _Resource] = {}
        self._rows: dict[tuple[str, str, str], _Row] = {}

    def _resource(self, key: str) -> _Resource:
        gr = resource_of(key)
        found = self._resources.get(gr)
        if found is None:
            found = self._resources[gr] = _Resource(key, self._transformers)
        return found

    def _row(self, res: _Resource, kind: ValueKind) -> _Row:
        row = self._rows.get((res.name, kind.provider, kind.key))
        if row is None:
            row = self._rows[(res.name, kind.provider, kind.key)] = _Row()
        return row

    def page(self, kvs: Sequence[KeyValue]) -> None:
        """Count a page of current values (in key order, so neighbours share a
        resource). Values an aescbc key would read first are decrypted together,
        one call per key (:meth:`ManyReader.read_many`); any it does not open,
        and every other value, go through the resource's transformer one by one,
        which also gives the reason a value is unreadable."""
        seen: Counter[tuple[_Resource, ValueKind]] = Counter()
        batches: dict[int, tuple[ManyReader, list[_Waiting]]] = {}
        res: _Resource | None = None
        for kv in kvs:
            if res is None or not kv.key.startswith(res.prefix):
                res = self._resource(kv.key)
            kind = self._classify(kv.value)
            seen[res, kind] += 1
            skip, reader = res.reader(kv.value)
            if reader is None:
                self._read(res, kv, kind)
            else:
                batches.setdefault(id(reader), (reader, []))[1].append((res, kv, kind, skip))
        for (res, kind), n in seen.items():
            row = self._row(res, kind)
            row.count += n
            if res.encrypts and kind.provider == "identity":
                row.plaintext += n
        for reader, items in batches.values():
            opened = reader.read_many([kv.value[skip:] for _, kv, _, skip in items])
            for (res, kv, kind, _), plain in zip(items, opened, strict=True):
                if plain is None:
                    self._read(res, kv, kind)
                else:
                    self._opened(res, kind, plain)

    def _read(self, res: _Resource, kv: KeyValue, kind: ValueKind) -> None:
        try:
            read = res.transformer.from_storage(kv.value, context=kv.key.encode())
        except EnvelopeError as exc:
            self._unreadable(res, kind, _reason(exc))
            return
        if kind.provider != "identity":
            self._opened(res, kind, read.plaintext)

    def _opened(self, res: _Resource, kind: ValueKind, plaintext: bytes) -> None:
        """A decrypted value counts as read only if it is an object: an aescbc key
        that did not write it leaves a valid padding about once in 256 tries."""
        why = stored_form_error(plaintext)
        if why is not None:
            reason = f"decrypted to something that is not an object: {why} (key {kind.key})"
            self._unreadable(res, kind, reason)
        elif kind != res.writer:
            self._row(res, kind).stale += 1

    def _unreadable(self, res: _Resource, kind: ValueKind, reason: str) -> None:
        row = self._row(res, kind)
        row.undecryptable += 1
        row.reasons[reason] += 1

    def old(self, key: str, value: bytes) -> None:
        """Count one older revision, by its header."""
        res = self._resource(key)
        kind = self._classify(value)
        row = self._row(res, kind)
        row.history += 1
        if kind != res.writer and (kind.provider != "identity" or res.encrypts):
            row.history_old += 1

    def freeze(self) -> tuple[KeyUse, ...]:
        """The rows, sorted; every resource seen shows its write key, used or not."""
        for res in self._resources.values():
            self._row(res, res.writer)
        writers = {r.name: r.writer for r in self._resources.values()}
        return tuple(
            KeyUse(
                resource=name,
                provider=provider,
                key=key,
                write=writers.get(name) == (provider, key),
                count=r.count,
                stale=r.stale,
                plaintext=r.plaintext,
                undecryptable=r.undecryptable,
                reasons=dict(r.reasons.most_common()),
                history=r.history,
                history_old=r.history_old,
            )
            for (name, provider, key), r in sorted(self._rows.items())
        )
