"""The rows and the ``Log`` protocol under :mod:`kcrypt.datastore.logstructured`.

An engine implements :class:`Log`; ``LogStructured`` turns it into the
contract. See ``logstructured.py`` for the row model (kine's).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kcrypt.datastore.contract import KeyValue

__all__ = ["Draft", "Lease", "Log", "LogReads", "LogWriter", "Row", "prefix_bounds"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """A row about to be appended (kine's columns plus the derived ``version``).

    ``create_revision`` is 0 on created rows: the row's own id is its create
    revision (kine stores it that way). ``version`` is the version of the value
    the row makes live; on a tombstone, the version of the value it removed.
    ``old_lease`` is the lease of the value this row replaces.
    """

    name: str
    created: bool
    deleted: bool
    create_revision: int
    prev_revision: int
    lease: int
    value: bytes
    old_value: bytes
    version: int
    old_lease: int = 0

    def row(self, rid: int) -> Row:
        """The row this draft becomes once appended as ``rid``."""
        crev = rid if self.created else self.create_revision
        return Row(
            rid,
            self.name,
            self.created,
            self.deleted,
            crev,
            self.prev_revision,
            self.lease,
            self.value,
            self.old_value,
            self.version,
            self.old_lease,
        )


@dataclass(frozen=True, slots=True)
class Row:
    """An appended row; ``create_revision`` is resolved (== id on created rows)."""

    id: int
    name: str
    created: bool
    deleted: bool
    create_revision: int
    prev_revision: int
    lease: int
    value: bytes
    old_value: bytes
    version: int
    old_lease: int = 0

    def kv(self) -> KeyValue:
        return KeyValue(
            self.name, self.value, self.create_revision, self.id, self.version, self.lease
        )


@dataclass(frozen=True, slots=True)
class Lease:
    id: int
    ttl: int
    expires: float


class LogReads(Protocol):
    """What both the log and a write block read. Ranges are ``lo <= name < hi``
    (``hi`` None: no upper bound) in byte order; ``revision`` 0 means current."""

    @property
    def endpoint(self) -> str: ...

    @property
    def read_only(self) -> bool: ...

    def current_revision(self) -> int: ...

    def compact_revision(self) -> int:
        """Reads below this revision raise Compacted (0: never compacted)."""
        ...

    def latest(self, name: str, *, revision: int = 0) -> Row | None:
        """The newest row of ``name`` at ``revision``, tombstones included."""
        ...

    def latest_many(self, names: Sequence[str]) -> dict[str, Row]:
        """Current newest row of each name that has one (``old_value`` may be empty)."""
        ...

    def live(
        self,
        lo: str,
        hi: str | None,
        *,
        after: str | None,
        limit: int,
        revision: int,
        values: bool = True,
    ) -> list[KeyValue]:
        """Live values at ``revision``, one per name, name order, names > after;
        ``values=False``: their ``value`` is empty. KeyValues, not rows: a
        listing needs nothing else, and a whole-store read (an audit, a pass)
        pays for every object it builds per value."""
        ...

    def count(self, lo: str, hi: str | None, *, revision: int) -> int: ...

    def written_since(
        self, lo: str, hi: str | None, *, revision: int, excluding: Sequence[tuple[int, int]]
    ) -> list[Row]:
        """Current live rows of names in range whose id > revision, outside ``excluding``."""
        ...

    def after(self, lo: str, hi: str | None, *, revision: int, upto: int, limit: int) -> list[Row]:
        """Rows with ``revision < id <= upto`` in id order, at most ``limit``."""
        ...

    def superseded(
        self, lo: str, hi: str | None, *, revision: int, upto: int, limit: int
    ) -> list[Row]:
        """Like :meth:`after`, only rows holding a value that a later row with
        ``id <= upto`` replaced or deleted (no tombstones, no current values)."""
        ...

    def live_with_lease(self, lease: int) -> list[Row]: ...

    def lease_get(self, lease_id: int) -> Lease | None: ...

    def leases_expired(self, now: float) -> list[int]: ...


class LogWriter(LogReads, Protocol):
    """Inside a write block: reads see every write made so far, durable or not."""

    def append(self, drafts: Sequence[Draft]) -> int:
        """Append atomically; returns the id of the first row. Durable when the
        write block that made it ends."""
        ...

    def compact(self, *, after: int, upto: int, new_compact_revision: int) -> None:
        """Delete rows superseded by, and tombstones among, rows with
        ``after < id <= upto``; record ``new_compact_revision`` atomically."""
        ...

    def lease_put(self, lease: Lease) -> None: ...

    def lease_delete(self, lease_id: int) -> None: ...


class Log(LogReads, Protocol):
    """What an engine provides. Its own reads see durable rows only; writes
    happen in write blocks (:meth:`current` is the single-key GET's read)::

        async with log.writing() as w:   # the block itself must not await
            cur = w.latest(key)          # check ...
            w.append([...])              # ... then write: a real CAS
        # here the block's writes (and any it read) are durable

    An engine may commit the writes of several blocks together (SQLite's
    group commit); a block ends only when its batch is on disk, and raises
    the engine's error if that commit failed."""

    def current(self, name: str) -> KeyValue | None:
        """``latest(name).kv()`` for a live row, None for none or a tombstone --
        without building the Row (the read every GET does)."""
        ...

    def writing(self) -> AbstractAsyncContextManager[LogWriter]: ...

    async def snapshot(self, path: Path) -> tuple[str, int]:
        """Write an image of the whole log as of one revision to the new file
        ``path`` (0600) while writes go on; returns (image kind, revision)."""
        ...

    def close(self) -> None: ...


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """``[lo, hi)`` covering every string that starts with ``prefix``.

    Code point order equals UTF-8 byte order, so bumping the last code point
    gives the exclusive upper bound (skipping the surrogate block)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1
            return prefix, "".join(chars) + chr(nxt)
    return prefix, None
