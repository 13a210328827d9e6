"""A :class:`~kcrypt.datastore.logstructured.Log` held in memory.

The fast reference engine for upper-layer tests. It runs the very same
``LogStructured`` code as the SQLite engine, so a behaviour seen here is the
behaviour of the embedded datastore, minus the disk. Nothing survives
``close()``.

Rows live in id order (for watches) and per name in id order (for reads at
a revision); names are kept sorted, so a page costs ``O(log n + page)``.
"""

from __future__ import annotations

import base64
import json
import os
from bisect import bisect_left, bisect_right, insort
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import astuple, replace
from pathlib import Path
from typing import Any

from kcrypt.datastore.contract import KeyValue
from kcrypt.datastore.logstructured import Draft, Lease, LogStructured, Row

__all__ = ["IMAGE_KIND", "MemoryLog", "open_memory", "open_memory_image"]

IMAGE_KIND = "memory"
_BYTES = (7, 8)  # Row fields holding bytes (value, old_value): base64 in an image


class MemoryLog:
    def __init__(self, *, endpoint: str = "memory://") -> None:
        self._endpoint = endpoint
        # Like the SQLite engine, revision 1 is taken by the store's own
        # bookkeeping row, so a new store starts at revision 1 with no keys.
        self._revision = 1
        self._compact = 0
        self._ids: list[int] = []
        self._rows: list[Row] = []
        self._names: list[str] = []
        self._hist: dict[str, list[Row]] = {}
        self._leases: dict[int, Lease] = {}

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def read_only(self) -> bool:
        return False

    def current_revision(self) -> int:
        return self._revision

    def compact_revision(self) -> int:
        return self._compact

    def _at(self, name: str, revision: int) -> Row | None:
        hist = self._hist.get(name)
        if not hist:
            return None
        if revision <= 0 or revision >= hist[-1].id:
            return hist[-1]
        i = bisect_right([r.id for r in hist], revision)
        return hist[i - 1] if i else None

    def latest(self, name: str, *, revision: int = 0) -> Row | None:
        return self._at(name, revision)

    def current(self, name: str) -> KeyValue | None:
        row = self._at(name, 0)
        return None if row is None or row.deleted else row.kv()

    def latest_many(self, names: Sequence[str]) -> dict[str, Row]:
        return {n: self._hist[n][-1] for n in names if self._hist.get(n)}

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
        rows = self._live(lo, hi, after=after, limit=limit, revision=revision)
        return [r.kv() if values else replace(r.kv(), value=b"") for r in rows]

    def _live(
        self, lo: str, hi: str | None, *, after: str | None, limit: int, revision: int
    ) -> list[Row]:
        out: list[Row] = []
        start = bisect_left(self._names, lo)
        if after is not None and after >= lo:
            start = bisect_right(self._names, after)
        for name in self._names[start:]:
            if hi is not None and name >= hi:
                break
            row = self._at(name, revision)
            if row is not None and not row.deleted:
                out.append(row)
                if limit and len(out) >= limit:
                    break
        return out

    def written_since(
        self, lo: str, hi: str | None, *, revision: int, excluding: Sequence[tuple[int, int]]
    ) -> list[Row]:
        rows = self._live(lo, hi, after=None, limit=0, revision=0)
        return [
            r for r in rows if r.id > revision and not any(a <= r.id <= b for a, b in excluding)
        ]

    def count(self, lo: str, hi: str | None, *, revision: int) -> int:
        return len(self._live(lo, hi, after=None, limit=0, revision=revision))

    def after(self, lo: str, hi: str | None, *, revision: int, upto: int, limit: int) -> list[Row]:
        out: list[Row] = []
        for row in self._rows[bisect_right(self._ids, revision) :]:
            if row.id > upto:
                break
            if row.name >= lo and (hi is None or row.name < hi):
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def superseded(
        self, lo: str, hi: str | None, *, revision: int, upto: int, limit: int
    ) -> list[Row]:
        replaced = {r.prev_revision for r in self._rows if r.id <= upto and r.prev_revision}
        rows = self.after(lo, hi, revision=revision, upto=upto, limit=len(self._rows) + 1)
        return [r for r in rows if not r.deleted and r.id in replaced][:limit]

    def append(self, drafts: Sequence[Draft]) -> int:
        first = self._revision + 1
        for draft in drafts:
            self._revision += 1
            row = draft.row(self._revision)
            self._ids.append(row.id)
            self._rows.append(row)
            hist = self._hist.get(row.name)
            if hist is None:
                hist = self._hist[row.name] = []
                insort(self._names, row.name)
            hist.append(row)
        return first

    def compact(self, *, after: int, upto: int, new_compact_revision: int) -> None:
        doomed: set[int] = set()
        for row in self._rows[bisect_right(self._ids, after) :]:
            if row.id > upto:
                break
            if row.deleted:
                doomed.add(row.id)
            if row.prev_revision:
                doomed.add(row.prev_revision)
        if doomed:
            self._rows = [r for r in self._rows if r.id not in doomed]
            self._ids = [r.id for r in self._rows]
            for name in list(self._hist):
                kept = [r for r in self._hist[name] if r.id not in doomed]
                if kept:
                    self._hist[name] = kept
                else:
                    del self._hist[name]
            self._names = sorted(self._hist)
        self._compact = max(self._compact, new_compact_revision)

    def live_with_lease(self, lease: int) -> list[Row]:
        return [h[-1] for h in self._hist.values() if h[-1].lease == lease and not h[-1].deleted]

    def lease_put(self, lease: Lease) -> None:
        self._leases[lease.id] = lease

    def lease_get(self, lease_id: int) -> Lease | None:
        return self._leases.get(lease_id)

    def lease_delete(self, lease_id: int) -> None:
        self._leases.pop(lease_id, None)

    def leases_expired(self, now: float) -> list[int]:
        return [lease.id for lease in self._leases.values() if lease.expires <= now]

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[MemoryLog]:
        """Every write is "durable" at once: the block writes straight into the log."""
        yield self

    async def snapshot(self, path: Path) -> tuple[str, int]:
        """JSON lines: a header, then every row (bytes in base64). Written in
        one go on the loop, so it is one revision's state."""
        lines = [
            json.dumps({"kind": IMAGE_KIND, "revision": self._revision, "compact": self._compact})
        ]
        for row in self._rows:
            fields = list(astuple(row))
            for i in _BYTES:
                fields[i] = base64.b64encode(fields[i]).decode()
            lines.append(json.dumps(fields))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return IMAGE_KIND, self._revision

    def load(self, path: Path) -> None:
        """Fill an empty log from an image :meth:`snapshot` wrote."""
        with path.open() as f:
            header = json.loads(f.readline())
            for line in f:
                fields = json.loads(line)
                for i in _BYTES:
                    fields[i] = base64.b64decode(fields[i])
                row = Row(*fields)
                self._ids.append(row.id)
                self._rows.append(row)
                if row.name not in self._hist:
                    self._hist[row.name] = []
                    insort(self._names, row.name)
                self._hist[row.name].append(row)
        self._revision = int(header["revision"])
        self._compact = int(header["compact"])

    def close(self) -> None:
        self._leases.clear()


async def open_memory(url: str = "memory://", **options: Any) -> LogStructured:
    """A fresh, empty in-memory datastore (``options``: LogStructured tunables)."""
    store = LogStructured(MemoryLog(endpoint=url.split("?", 1)[0]), **options)
    store.start()
    return store


async def open_memory_image(path: Path, **options: Any) -> LogStructured:
    """The store a memory image holds (a copy: writes to it change nothing on disk)."""
    log = MemoryLog(endpoint=f"memory-image://{path}")
    log.load(path)
    store = LogStructured(log, **options)
    store.start()
    return store
