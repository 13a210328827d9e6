"""Group commit for the SQLite writer connection.

A commit with ``synchronous=FULL`` is an fsync: one to several milliseconds,
long enough to dominate a create. Run on the event loop, it also stops every
other request for that long. So writes are batched the way databases do it:

* a write block (:meth:`GroupCommit.hold`) runs synchronously on the loop.
  Its first write opens the *batch* (``BEGIN IMMEDIATE`` on the writer
  connection) and schedules the batch's commit with ``call_soon``; every
  write block that runs before that callback joins the same transaction;
* the ``COMMIT`` (the fsync) runs in a dedicated thread, so the loop keeps
  parsing, decrypting and answering while the disk works. Write blocks that
  arrive meanwhile wait for it to finish, then form the next batch together;
* a write block returns only when every write it could have seen is durable:
  its own, and earlier writes of the open batch its checks may have read
  (so a KeyExists or a lost CAS is never answered from a row that is not on
  disk yet). If the COMMIT fails, the whole batch is rolled back and every
  block in it raises the translated error: nobody was told "done".

Readers never see a batch before it is committed: they use a separate
connection (WAL), which reads the last committed state. Only write blocks
use the writer connection, which sees its own open transaction -- that is
what keeps LogStructured's check-then-append a real compare-and-swap.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future as ThreadFuture
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from kcrypt.datastore.errors import DatastoreError

__all__ = ["GroupCommit"]


class GroupCommit:
    """The writer connection's transaction state; one per :class:`SqliteLog`.

    ``translate`` turns a sqlite3 error into the datastore error raised to
    each write block of a failed batch.
    """

    def __init__(
        self, db: sqlite3.Connection, *, translate: Callable[[sqlite3.Error], DatastoreError]
    ) -> None:
        self._db = db
        self._translate = translate
        self._executor: ThreadPoolExecutor | None = None
        self._open: asyncio.Future[BaseException | None] | None = None
        self._committing: asyncio.Future[None] | None = None
        self._inside = False
        self._closed = False

    def begin(self) -> None:
        """Called before each write statement: the first one opens the batch."""
        if self._open is not None:
            return
        loop = asyncio.get_running_loop()
        self._db.execute("BEGIN IMMEDIATE")
        self._open = loop.create_future()
        loop.call_soon(self._flush)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Exclusive use of the writer connection for one synchronous block;
        on exit, waits until what the block wrote or read is durable."""
        while self._committing is not None:
            await asyncio.shield(self._committing)
        if self._inside:
            raise RuntimeError("a datastore write block awaited inside; blocks must not await")
        self._inside = True
        try:
            yield
        except BaseException:
            self._inside = False
            await self._durable()
            raise
        self._inside = False
        await self._durable()

    async def _durable(self) -> None:
        pending = self._open
        if pending is None:
            return
        error = await asyncio.shield(pending)
        if isinstance(error, sqlite3.Error):
            raise self._translate(error) from error
        if error is not None:
            raise error

    def _flush(self) -> None:
        batch, self._open = self._open, None
        if batch is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="kcrypt-sqlite-commit")
        committing = self._committing = loop.create_future()
        work = self._executor.submit(self._commit)

        def finished(done: ThreadFuture[None]) -> None:
            self._committing = None
            committing.set_result(None)
            if not batch.done():
                batch.set_result(done.exception())

        work.add_done_callback(lambda done: loop.call_soon_threadsafe(finished, done))

    def _commit(self) -> None:
        """COMMIT (the fsync) -- in the commit thread, or at close."""
        try:
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Finish an in-flight commit and commit a batch not yet handed over."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        batch, self._open = self._open, None
        if batch is not None:
            try:
                self._commit()
            except Exception as exc:
                batch.set_result(exc)
            else:
                batch.set_result(None)
