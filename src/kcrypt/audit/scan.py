"""Read every value (and every kept older revision) of a datastore; count who protects it.

The scan never writes: it ranges the live values under ``/registry/`` at one
revision R, page by page, then replays the history the store still keeps up
to R (:meth:`~kcrypt.datastore.Datastore.history`). For each current value it

1. reads the envelope header (``k8s:enc:<provider>:v1:<key>:``) to know which
   provider and key the value claims -- plaintext has none;
2. decrypts it with the resource's transformer, as kube-apiserver would with
   the same EncryptionConfiguration: the proof that the key at hand really
   opens it (a header alone proves nothing), and the reason when it does not.

Older revisions are classified by header only: they are counted, not
served. A resource is the storage key's second segment
(``/registry/secrets/...``), or ``<resource>.<group>`` when that segment is
an API group (``/registry/apps.example.com/widgets/...``); its transformer
comes from the config exactly as kube-apiserver picks it (exact rule, then
``*.<group>``, then ``*.*``, else identity).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kcrypt.audit.report import KeyUse, Report
from kcrypt.config import Transformers
from kcrypt.datastore import Datastore, EventType
from kcrypt.envelope import EnvelopeError, Transformer, parse_prefix
from kcrypt.envelope.provider import PrefixChain

__all__ = [
    "PAGE",
    "Classifier",
    "Progress",
    "ValueKind",
    "audit_store",
    "by_key",
    "classify",
    "resource_of",
    "writer_of",
]

PAGE = 1000
REGISTRY = "/registry/"
IDENTITY = ("identity", "")

#: (done, total) current values examined so far.
Progress = Callable[[int, int], None]


def resource_of(key: str) -> tuple[str, str]:
    """(group, resource) of a storage key: ``/registry/secrets/ns/n`` -> ("", "secrets")."""
    parts = key.split("/", 4)
    first = parts[2] if len(parts) > 2 else ""
    if "." in first and len(parts) > 3:
        return first, parts[3]
    return "", first


def writer_of(transformer: Transformer) -> tuple[str, str]:
    """(provider, key) that writes through ``transformer``; identity is ("identity", "")."""
    head = b""
    tf: Transformer = transformer
    while isinstance(tf, PrefixChain):
        first = tf.providers[0]
        head += first.prefix
        tf = first.transformer
    if not head:
        return IDENTITY
    found = parse_prefix(head + b"\0")
    return (found.provider, found.key_name) if found is not None else IDENTITY


@dataclass(frozen=True, slots=True)
class ValueKind:
    provider: str
    key: str


def classify(value: bytes, known_names: tuple[str, ...]) -> ValueKind:
    """The provider and key a stored value's header names (identity: plaintext)."""
    try:
        found = parse_prefix(value, known_names=known_names)
    except EnvelopeError:
        return ValueKind("unknown", "")
    if found is None:
        return ValueKind(*IDENTITY)
    return ValueKind(found.provider, found.key_name)


class Classifier:
    """:func:`classify`, fast: the envelope headers already seen (and every configured
    key's) are matched with ``startswith``, longest first -- the same answer
    ``parse_prefix`` gives for names with ``:`` -- so each value costs a few
    prefix checks instead of a parse."""

    _PROVIDERS = ("aescbc", "aesgcm", "secretbox")

    def __init__(self, known_names: tuple[str, ...]) -> None:
        self._names = known_names
        heads = [f"k8s:enc:{p}:v1:{n}:" for p in self._PROVIDERS for n in known_names]
        heads += [f"k8s:enc:kms:{v}:{n}:" for v in ("v1", "v2") for n in known_names]
        self._seen: list[tuple[bytes, ValueKind]] = []
        for head in heads:
            found = parse_prefix(head.encode() + b"\0", known_names=known_names)
            if found is not None:
                self._seen.append((head.encode(), ValueKind(found.provider, found.key_name)))
        self._seen.sort(key=lambda hk: -len(hk[0]))

    def __call__(self, value: bytes) -> ValueKind:
        if not value.startswith(b"k8s:enc:"):
            return ValueKind(*IDENTITY)
        for head, kind in self._seen:
            if value.startswith(head):
                return kind
        try:
            found = parse_prefix(value, known_names=self._names)
        except EnvelopeError:
            return ValueKind("unknown", "")
        if found is None:  # pragma: no cover - starts with k8s:enc: is never None
            return ValueKind(*IDENTITY)
        kind = ValueKind(found.provider, found.key_name)
        self._seen.append((found.prefix.encode(), kind))
        self._seen.sort(key=lambda hk: -len(hk[0]))
        return kind


def _reason(exc: EnvelopeError) -> str:
    where = f" (key {exc.key_name})" if exc.key_name else ""
    return f"{exc.upstream}{where}"


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
    """One resource's transformer, writer and whether the config encrypts it."""

    __slots__ = ("encrypts", "name", "transformer", "writer")

    def __init__(self, group: str, resource: str, transformers: Transformers) -> None:
        self.name = f"{resource}.{group}" if group else resource
        self.transformer = transformers.for_resource(resource, group)
        self.writer = writer_of(self.transformer)
        self.encrypts = self.writer != IDENTITY


class _Tally:
    def __init__(self, transformers: Transformers, known_names: tuple[str, ...]) -> None:
        self._transformers = transformers
        self._classify = Classifier(known_names)
        self._resources: dict[tuple[str, str], _Resource] = {}
        self.rows: dict[tuple[str, str, str], _Row] = {}

    def resource(self, key: str) -> _Resource:
        gr = resource_of(key)
        found = self._resources.get(gr)
        if found is None:
            found = self._resources[gr] = _Resource(*gr, self._transformers)
        return found

    def _row(self, res: _Resource, kind: ValueKind) -> _Row:
        row = self.rows.get((res.name, kind.provider, kind.key))
        if row is None:
            row = self.rows[(res.name, kind.provider, kind.key)] = _Row()
        return row

    def current(self, key: str, value: bytes) -> None:
        res = self.resource(key)
        kind = self._classify(value)
        row = self._row(res, kind)
        row.count += 1
        plain = kind.provider == "identity"
        if plain and res.encrypts:
            row.plaintext += 1
        try:
            res.transformer.from_storage(value, context=key.encode())
        except EnvelopeError as exc:
            row.undecryptable += 1
            row.reasons[_reason(exc)] += 1
            return
        if not plain and (kind.provider, kind.key) != res.writer:
            row.stale += 1

    def old(self, key: str, value: bytes) -> None:
        res = self.resource(key)
        kind = self._classify(value)
        row = self._row(res, kind)
        row.history += 1
        if (kind.provider, kind.key) != res.writer and (
            kind.provider != "identity" or res.encrypts
        ):
            row.history_old += 1

    def freeze(self) -> tuple[KeyUse, ...]:
        for res in self._resources.values():  # every resource seen shows its write key
            self._row(res, ValueKind(*res.writer))
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
            for (name, provider, key), r in sorted(self.rows.items())
        )


async def audit_store(
    ds: Datastore,
    transformers: Transformers,
    *,
    known_names: tuple[str, ...],
    config_hash: str,
    history: bool = True,
    prefix: str = REGISTRY,
    on_progress: Progress | None = None,
    page: int = PAGE,
) -> Report:
    """Audit ``ds`` (read only) with ``transformers``; ``known_names`` are the
    config's key and KMS provider names (for names containing ``:``)."""
    started = time.monotonic()
    revision = await ds.revision()
    total = await ds.count(prefix, revision=revision)
    tally = _Tally(transformers, known_names)
    current: dict[str, int] = {}
    after: str | None = None
    while True:
        chunk = await ds.range(prefix, start_after=after, limit=page, revision=revision)
        for kv in chunk.kvs:
            tally.current(kv.key, kv.value)
            current[kv.key] = kv.mod_revision
        if on_progress is not None:
            on_progress(len(current), total)
        if not chunk.more or not chunk.kvs:
            break
        after = chunk.kvs[-1].key
        await asyncio.sleep(0)  # an online audit runs in the server: let requests through
    old = 0
    if history:
        events = ds.history(prefix, start_revision=1, end_revision=revision, superseded=True)
        async for ev in events:
            if ev.type is EventType.PUT:
                tally.old(ev.kv.key, ev.kv.value)
                old += 1
    return Report(
        source=ds.endpoint,
        revision=revision,
        config_hash=config_hash,
        rows=tally.freeze(),
        values=len(current),
        history_values=old,
        elapsed=time.monotonic() - started,
    )


def by_key(report: Report) -> Mapping[tuple[str, str, str], KeyUse]:
    """Rows keyed by (resource, provider, key), for tests and callers that look one up."""
    return {(r.resource, r.provider, r.key): r for r in report.rows}
