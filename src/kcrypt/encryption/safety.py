"""Safety checks: a key leaves the config only when no stored value uses it.

k3s removed the old key after a pass that had stopped at 8,105 of 10,000
secrets (k3s #5933): the rest became unreadable. kcrypt proves, from the
envelope headers of stored values (no decryption, no key needed), that no
value uses a key before removing it, and refuses with the counts per key
otherwise.

The proof reuses what the pass saw (:func:`prove_unused`). A pass that
finished with no unreadable value left every value it saw under the write
key, so only values written *since the pass began* by someone else can hold
another key: those whose ``mod_revision`` is above the checkpoint's
``start_revision`` and is not one of the pass's own rewrites. The datastore
lists exactly those (``written_since``, filtered inside SQLite or on
revisions only for etcd), so the pass's own rewrites are never read again.
Without that record (an older checkpoint) the proof is :func:`scan_key_usage`,
a full scan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from kcrypt.datastore.contract import Datastore
from kcrypt.encryption.checkpoint import Checkpoint
from kcrypt.encryption.usage import UNKNOWN_PREFIX, Proof
from kcrypt.envelope import EnvelopeError, parse_prefix

__all__ = ["prove_unused", "scan_key_usage"]


def _count(counts: Counter[str], value: bytes, names: tuple[str, ...]) -> None:
    try:
        header = parse_prefix(value, known_names=names)
    except EnvelopeError:
        counts[UNKNOWN_PREFIX] += 1
        return
    counts[header.prefix if header else ""] += 1


async def scan_key_usage(
    datastore: Datastore,
    prefixes: str | Sequence[str],
    *,
    known_names: Iterable[str] = (),
    page_size: int = 1000,
) -> dict[str, int]:
    """Values under ``prefixes`` per envelope prefix (``""`` = not encrypted).

    ``known_names`` are the names of the config's keys: k3s key names contain
    ``:`` (RFC 3339 times) and a header alone cannot say where such a name
    ends (:func:`kcrypt.envelope.parse_prefix`).
    """
    names = tuple(known_names)
    counts: Counter[str] = Counter()
    for prefix in [prefixes] if isinstance(prefixes, str) else prefixes:
        after: str | None = None
        revision = 0
        while True:
            page = await datastore.range(
                prefix, start_after=after, limit=page_size, revision=revision
            )
            revision = page.revision
            for kv in page.kvs:
                _count(counts, kv.value, names)
            if not page.more or not page.kvs:
                break
            after = page.kvs[-1].key
    return dict(counts)


async def prove_unused(
    datastore: Datastore,
    ckpt: Checkpoint,
    *,
    known_names: Iterable[str] = (),
) -> Proof:
    """Key usage of every value the finished pass ``ckpt`` does not vouch for."""
    names = tuple(known_names)
    if ckpt.start_revision <= 0:
        usage = await scan_key_usage(datastore, ckpt.prefixes, known_names=names)
        return Proof(
            config_hash=ckpt.config_hash, usage=usage, checked=sum(usage.values()), full=True
        )
    counts: Counter[str] = Counter()
    checked = 0
    for prefix in ckpt.prefixes:
        others = await datastore.written_since(
            prefix, revision=ckpt.start_revision, excluding=ckpt.written
        )
        for kv in others:
            checked += 1
            _count(counts, kv.value, names)
    return Proof(config_hash=ckpt.config_hash, usage=dict(counts), checked=checked, full=False)
