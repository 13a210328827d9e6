"""A bounded LRU of rendered GET responses, checked against the row just read.

A GET of an unchanged object spends most of its handler time turning the
stored value into response bytes: decrypt, protobuf decode, JSON form,
encode. :class:`ReadCache` keeps those bytes per storage key and per
*variant* (the response encoding the caller asked for), so a repeat read
skips all four -- but never skips the datastore read. An entry is used only
when the row just read has the same ``mod_revision``, the same transformer
registry generation and byte-for-byte the same stored value as when the
entry was made; anything else is a miss that replaces the entry. So:

* consistency is unchanged: ``resourceVersion`` and existence always come
  from the current row (another server's write, an out-of-band re-encryption
  or a restored datastore all show up as a different revision or value);
* a transformer swap (config reload, key rotation, a key removed) clears the
  whole cache at once (:meth:`ReadCache.clear` is registered with the
  :class:`~kcrypt.storage.transformers.TransformerRegistry`), and the
  generation check covers a read that raced the swap;
* a value that no current key can read is never served from here: it was
  either never cached (the decrypt failed) or dropped with the swap.

What it holds: decrypted object data, in memory, as kube-apiserver's watch
cache does. It is bounded by entries (storage keys) and by bytes (rendered
bytes plus the stored value kept for the comparison); the least recently
used keys go first. ``max_entries=0`` turns it off. It lives in one process
and is never written anywhere.

Cache hits perform no transformation, so the storage transformation metrics
(``apiserver_storage_transformation_*``) count only reads that decrypted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ENTRIES", "ReadCache"]

DEFAULT_MAX_ENTRIES = 10_000
"""Storage keys kept: a few thousand secrets and configmaps fit at the default."""

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Rendered bytes + stored values kept (a single object is at most ~1.5 MiB)."""

_ENTRY_OVERHEAD = 200  # the entry, its dict and tuple, roughly; keeps tiny entries honest


class _Entry:
    __slots__ = ("generation", "renders", "revision", "size", "value")

    def __init__(self, revision: int, generation: int, value: bytes) -> None:
        self.revision = revision
        self.generation = generation
        self.value = value
        self.renders: dict[Hashable, bytes] = {}
        self.size = len(value) + _ENTRY_OVERHEAD


class ReadCache:
    """Rendered responses per (storage key, variant), valid for one stored row."""

    __slots__ = ("__weakref__", "_entries", "_nbytes", "max_bytes", "max_entries")

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("read cache bounds must not be negative")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._nbytes = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """The bytes accounted against ``max_bytes`` now."""
        return self._nbytes

    def lookup(
        self, key: str, variant: Hashable, *, revision: int, generation: int, value: bytes
    ) -> bytes | None:
        """The bytes rendered for exactly this row, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.revision != revision or entry.generation != generation or entry.value != value:
            self._drop(key, entry)  # the row changed: this entry can never be used again
            return None
        rendered = entry.renders.get(variant)
        if rendered is not None:
            self._entries.move_to_end(key)
        return rendered

    def store(
        self,
        key: str,
        variant: Hashable,
        rendered: bytes,
        *,
        revision: int,
        generation: int,
        value: bytes,
    ) -> None:
        """Keep ``rendered`` for this row (replacing what was kept for an older one)."""
        if not self.enabled:
            return
        entry = self._entries.get(key)
        if entry is not None and (
            entry.revision != revision or entry.generation != generation or entry.value != value
        ):
            self._drop(key, entry)
            entry = None
        if entry is None:
            entry = _Entry(revision, generation, value)
            self._entries[key] = entry
            self._nbytes += entry.size
        else:
            self._entries.move_to_end(key)
        old = entry.renders.get(variant)
        if old is not None:
            entry.size -= len(old)
            self._nbytes -= len(old)
        entry.renders[variant] = rendered
        entry.size += len(rendered)
        self._nbytes += len(rendered)
        while self._entries and (
            len(self._entries) > self.max_entries or self._nbytes > self.max_bytes
        ):
            oldest, dropped = next(iter(self._entries.items()))
            self._drop(oldest, dropped)

    def forget(self, key: str) -> None:
        """Drop what is kept for ``key`` (after a write or delete through this store)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._drop(key, entry)

    def clear(self) -> None:
        """Drop everything (the transformers changed)."""
        self._entries.clear()
        self._nbytes = 0

    def _drop(self, key: str, entry: _Entry) -> None:
        del self._entries[key]
        self._nbytes -= entry.size
