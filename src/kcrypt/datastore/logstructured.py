"""The datastore contract written once, on top of an append-only ``Log``.

This is kine's ``LogStructured`` idea. Every change is one appended row, and
the row's ``id`` is the store revision::

    id  name  created deleted create_revision prev_revision lease value old_value

* a create appends ``created=1`` with ``prev_revision`` pointing at the
  key's tombstone, if the key existed before;
* an update appends ``prev_revision = <mod_revision it replaced>``; a watch
  sends that row's value as ``prev`` (kine copies it into ``old_value``; the
  SQLite engine reads it from the replaced row, which lives as long as the
  update does, so a re-encryption pass writes each value once);
* a delete appends a tombstone (``deleted=1``) that carries the last value.

The live value of a key at revision R is its newest row with ``id <= R``,
unless that row is a tombstone. CAS, recreate-after-delete, ``prev`` on
events, leases, compaction and watch are all written here, once (the rows
each change appends are built in ``drafts.py``; open watches are kept in
``watchers.py``). An engine
only supplies a :class:`Log` (rows and protocol in ``log.py``): the memory
engine keeps rows in lists, the SQLite engine in kine's table.

``Log`` methods are *synchronous*. Both engines answer in microseconds to a
few milliseconds, and running them on the event-loop thread makes each
contract call atomic with respect to other coroutines. Every mutation runs
in one write block (``async with log.writing() as w``) whose body does not
await: engines are single-writer (SQLite holds an exclusive file lock), so a
check followed by an append in that block is a real compare-and-swap. The
block ends when its writes are durable (the SQLite engine commits the blocks
of concurrent requests together); watchers are woken after that, so an event
is never sent for a write that is not on disk. Long jobs (compaction) are cut
into batches, one block each, with a yield between them.

Revisions handed out by ``Log.append`` are consecutive: the first appended
row gets ``current_revision() + 1``. ``txn_put`` relies on this to chain
several puts to the same key inside one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path

from kcrypt.datastore.contract import (
    DeleteResult,
    Event,
    Image,
    KeyValue,
    Page,
    PutIf,
    TxnResult,
    UpdateResult,
)
from kcrypt.datastore.drafts import event_of, put_draft, tombstone
from kcrypt.datastore.errors import (
    Compacted,
    FutureRevision,
    KeyExists,
    LeaseNotFound,
    Unavailable,
)
from kcrypt.datastore.log import Draft, Lease, Log, LogReads, LogWriter, Row, prefix_bounds
from kcrypt.datastore.watchers import WATCH_BATCH, WatchHub

__all__ = ["Draft", "Lease", "Log", "LogStructured", "LogWriter", "Row", "prefix_bounds"]

COMPACT_BATCH = 10_000


class LogStructured:
    """A :class:`~kcrypt.datastore.contract.Datastore` over a :class:`Log`.

    ``clock`` is wall time (lease deadlines survive a restart of a persistent
    log); ``poll_interval`` bounds how late a watcher sees rows appended by
    another process (a read-only view of a live k3s file); in-process appends
    wake watchers at once.
    """

    def __init__(
        self,
        log: Log,
        *,
        clock: Callable[[], float] = time.time,
        lease_check_interval: float = 0.25,
        poll_interval: float = 1.0,
    ) -> None:
        self._log = log
        self._clock = clock
        self._lease_check_interval = lease_check_interval
        self._hub = WatchHub(log, poll_interval=poll_interval)
        self._closed = False
        self._expiry: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the lease expiry task (needs a running loop)."""
        if not self._log.read_only and self._expiry is None:
            self._expiry = asyncio.get_running_loop().create_task(self._expire_loop())

    @property
    def endpoint(self) -> str:
        return self._log.endpoint

    @property
    def log(self) -> Log:
        return self._log

    # -- reads ---------------------------------------------------------------

    def _read_revision(self, revision: int) -> int:
        current = self._log.current_revision()
        if revision <= 0:
            return current
        if revision > current:
            raise FutureRevision(revision, current)
        compact = self._log.compact_revision()
        if revision < compact:
            raise Compacted(revision, compact)
        return revision

    async def revision(self) -> int:
        self._check_open()
        return self._log.current_revision()

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        self._check_open()
        # A current read is one statement (newest row of the key), atomic on its
        # own: it needs neither the store revision nor the compaction bound, so
        # the common single-object GET costs one query, not two.
        if revision <= 0:
            return self._log.current(key)
        row = self._log.latest(key, revision=self._read_revision(revision))
        return None if row is None or row.deleted else row.kv()

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int = 0,
        keys_only: bool = False,
    ) -> Page:
        self._check_open()
        rev = self._read_revision(revision)
        lo, hi = prefix_bounds(prefix)
        rows = self._log.live(
            lo,
            hi,
            after=start_after,
            limit=limit + 1 if limit > 0 else 0,
            revision=rev,
            values=not keys_only,
        )
        more = limit > 0 and len(rows) > limit
        if more:
            rows = rows[:limit]
        return Page(tuple(rows), rev, more)

    async def written_since(
        self,
        prefix: str,
        *,
        revision: int,
        excluding: Sequence[tuple[int, int]] = (),
    ) -> list[KeyValue]:
        self._check_open()
        lo, hi = prefix_bounds(prefix)
        rows = self._log.written_since(lo, hi, revision=revision, excluding=excluding)
        return [r.kv() for r in rows]

    async def count(self, prefix: str, *, start_after: str | None = None, revision: int = 0) -> int:
        self._check_open()
        lo, hi = prefix_bounds(prefix)
        if start_after is not None and start_after >= lo:
            lo = start_after + "\0"
        return self._log.count(lo, hi, revision=self._read_revision(revision))

    # -- writes --------------------------------------------------------------

    @staticmethod
    def _append(w: LogWriter, drafts: Sequence[Draft]) -> int:
        first = w.append(drafts)
        return first + len(drafts) - 1

    @staticmethod
    def _check_lease(w: LogReads, lease: int) -> None:
        if lease and w.lease_get(lease) is None:
            raise LeaseNotFound(lease)

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        self._check_open()
        async with self._log.writing() as w:
            cur = w.latest(key)
            if cur is not None and not cur.deleted:
                raise KeyExists(key)
            self._check_lease(w, lease)
            revision = self._append(w, [put_draft(key, value, lease, cur)])
        self._hub.wake()
        return revision

    async def update(
        self, key: str, value: bytes, *, mod_revision: int, lease: int = 0
    ) -> UpdateResult:
        self._check_open()
        async with self._log.writing() as w:
            cur = w.latest(key)
            if cur is None or cur.deleted or cur.id != mod_revision:
                live = None if cur is None or cur.deleted else cur.kv()
                result = UpdateResult(False, w.current_revision(), live)
            else:
                self._check_lease(w, lease)
                revision = self._append(w, [put_draft(key, value, lease, cur)])
                result = UpdateResult(True, revision, None)
        if result.ok:
            self._hub.wake()
        return result

    async def delete(self, key: str, *, mod_revision: int = 0) -> DeleteResult:
        self._check_open()
        async with self._log.writing() as w:
            cur = w.latest(key)
            if cur is None or cur.deleted:
                result = DeleteResult(False, w.current_revision(), None)
            elif mod_revision and cur.id != mod_revision:
                result = DeleteResult(False, w.current_revision(), cur.kv())
            else:
                result = DeleteResult(True, self._append(w, [tombstone(cur)]), cur.kv())
        if result.ok:
            self._hub.wake()
        return result

    async def txn_put(self, puts: Sequence[PutIf]) -> TxnResult:
        self._check_open()
        async with self._log.writing() as w:
            for lease in {p.lease for p in puts if p.lease}:
                self._check_lease(w, lease)
            state: dict[str, Row | None] = dict(w.latest_many(list({p.key for p in puts})))
            next_id = w.current_revision() + 1
            drafts: list[Draft] = []
            ok: list[bool] = []
            revisions: list[int] = []
            for put in puts:
                cur = state.get(put.key)
                live = cur is not None and not cur.deleted
                if put.mod_revision == 0:
                    good = not live
                else:
                    good = live and cur is not None and cur.id == put.mod_revision
                ok.append(good)
                revisions.append(next_id if good else 0)
                if good:
                    draft = put_draft(put.key, put.value, put.lease, cur)
                    drafts.append(draft)
                    state[put.key] = draft.row(next_id)
                    next_id += 1
            revision = self._append(w, drafts) if drafts else w.current_revision()
        if drafts:
            self._hub.wake()
        return TxnResult(revision, tuple(ok), tuple(revisions))

    # -- watch ---------------------------------------------------------------

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[Event]:
        self._check_open()
        return self._hub.stream(prefix, start_revision)

    # -- leases --------------------------------------------------------------

    async def grant_lease(self, ttl: int) -> int:
        self._check_open()
        ttl = max(1, int(ttl))
        lease_id = secrets.randbits(62) + 1
        async with self._log.writing() as w:
            w.lease_put(Lease(lease_id, ttl, self._clock() + ttl))
        return lease_id

    async def keepalive(self, lease: int) -> int:
        self._check_open()
        async with self._log.writing() as w:
            found = w.lease_get(lease)
            if found is None or found.expires <= self._clock():
                raise LeaseNotFound(lease)
            w.lease_put(replace(found, expires=self._clock() + found.ttl))
        return found.ttl

    async def revoke_lease(self, lease: int) -> None:
        self._check_open()
        async with self._log.writing() as w:
            if w.lease_get(lease) is None:
                raise LeaseNotFound(lease)
            self._drop_lease(w, lease)
        self._hub.wake()

    def _drop_lease(self, w: LogWriter, lease: int) -> None:
        rows = w.live_with_lease(lease)
        if rows:
            self._append(w, [tombstone(r) for r in rows])
        w.lease_delete(lease)

    async def expire_leases(self) -> int:
        """Revoke every lease past its deadline now; returns how many."""
        async with self._log.writing() as w:
            expired = w.leases_expired(self._clock())
            for lease in expired:
                self._drop_lease(w, lease)
        if expired:
            self._hub.wake()
        return len(expired)

    async def _expire_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._lease_check_interval)
            with contextlib.suppress(Unavailable):
                await self.expire_leases()

    # -- compaction and lifecycle --------------------------------------------

    async def compact(self, revision: int) -> None:
        self._check_open()
        current = self._log.current_revision()
        if revision > current:
            raise FutureRevision(revision, current)
        done = self._log.compact_revision()
        if revision <= done:
            return  # already forgotten; racing compactors need not coordinate
        await self._hub.drain(revision - 1)
        # Rows below ``revision`` go; a tombstone *at* it stays so that a
        # watch from ``revision`` still sees it.
        start = max(done - 1, 0)
        while start < revision - 1:
            upto = min(start + COMPACT_BATCH, revision - 1)
            async with self._log.writing() as w:
                w.compact(after=start, upto=upto, new_compact_revision=upto + 1)
            start = upto
            await asyncio.sleep(0)
        async with self._log.writing() as w:
            if w.compact_revision() < revision:
                w.compact(after=start, upto=start, new_compact_revision=revision)
        self._hub.wake()

    # -- history and images ----------------------------------------------------

    def history(
        self, prefix: str, *, start_revision: int, end_revision: int, superseded: bool = False
    ) -> AsyncIterator[Event]:
        self._check_open()
        return self._history(prefix, start_revision, end_revision, superseded)

    async def _history(
        self, prefix: str, start: int, end: int, superseded: bool
    ) -> AsyncIterator[Event]:
        lo, hi = prefix_bounds(prefix)
        last = max(start, 1) - 1
        read = self._log.superseded if superseded else self._log.after
        while last < end:
            rows = read(lo, hi, revision=last, upto=end, limit=WATCH_BATCH)
            for row in rows:
                yield event_of(row)
            if len(rows) < WATCH_BATCH:
                return
            last = rows[-1].id
            await asyncio.sleep(0)

    async def snapshot(self, path: Path) -> Image:
        self._check_open()
        kind, revision = await self._log.snapshot(path)
        return Image(kind=kind, revision=revision, size=path.stat().st_size)

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable(self.endpoint, "the datastore is closed")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._hub.close()
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        self._hub.wake()
        self._log.close()
