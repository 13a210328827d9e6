"""Safety checks: a key leaves the config only when no stored value uses it.

k3s removed the old key after a pass that had stopped at 8,105 of 10,000
secrets (k3s #5933): the rest became unreadable. kcrypt scans the envelope
headers of every stored value (no decryption, no key needed) and refuses the
removal with the counts per key when any value still uses it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from kcrypt.datastore.contract import Datastore
from kcrypt.encryption.errors import KeyInUse
from kcrypt.envelope import EnvelopeError, parse_prefix

__all__ = ["UNKNOWN_PREFIX", "check_removable", "key_prefix", "scan_key_usage"]

UNKNOWN_PREFIX = "k8s:enc:?"
"""Counted for values that start with ``k8s:enc:`` but have no known header."""


def key_prefix(kind: str, name: str) -> str:
    return f"k8s:enc:{kind}:v1:{name}:"


async def scan_key_usage(
    datastore: Datastore,
    prefix: str,
    *,
    known_names: Iterable[str] = (),
    page_size: int = 1000,
) -> dict[str, int]:
    """Values under ``prefix`` per envelope prefix (``""`` = not encrypted).

    ``known_names`` are the names of the config's keys: k3s key names contain
    ``:`` (RFC 3339 times) and a header alone cannot say where such a name
    ends (:func:`kcrypt.envelope.parse_prefix`).
    """
    names = tuple(known_names)
    counts: Counter[str] = Counter()
    after: str | None = None
    revision = 0
    while True:
        page = await datastore.range(prefix, start_after=after, limit=page_size, revision=revision)
        revision = page.revision
        for kv in page.kvs:
            try:
                header = parse_prefix(kv.value, known_names=names)
            except EnvelopeError:
                counts[UNKNOWN_PREFIX] += 1
                continue
            counts[header.prefix if header else ""] += 1
        if not page.more or not page.kvs:
            return dict(counts)
        after = page.kvs[-1].key


def check_removable(
    usage: dict[str, int], removed: Iterable[tuple[str, str]], *, prefix: str
) -> None:
    """Raise :class:`KeyInUse` (with counts per key) if a removed key still protects a value."""
    removed = list(removed)
    blocking = [name for kind, name in removed if usage.get(key_prefix(kind, name), 0) > 0]
    if blocking:
        raise KeyInUse(blocking, usage, prefix=prefix)
