"""Open watches over a :class:`~kcrypt.datastore.log.Log`: each reads the rows
appended after its position, and sleeps until a write wakes it.

Writers call :meth:`WatchHub.wake` once their write block is durable, so an
event is never sent for a write that is not on disk. Rows appended by another
process (a read-only view of a live k3s file) wake no one here: a watch also
looks again every ``poll_interval`` seconds. Each watch records how far it
has read, so that a compaction can give the open ones a moment to catch up
(:meth:`WatchHub.drain`) before it removes what they have not read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from kcrypt.datastore.contract import Event
from kcrypt.datastore.drafts import event_of
from kcrypt.datastore.errors import Compacted
from kcrypt.datastore.log import Log, prefix_bounds

__all__ = ["WATCH_BATCH", "WATCH_DRAIN", "WatchHub"]

WATCH_BATCH = 500
WATCH_DRAIN = 1.0
"""Seconds a compaction waits for open watches to read what was written before it."""


class WatchHub:
    """The open watches of one store, and the signal that wakes them."""

    def __init__(self, log: Log, *, poll_interval: float) -> None:
        self._log = log
        self._poll_interval = poll_interval
        self._changed = asyncio.Event()
        self._positions: dict[object, int] = {}  # each open watch -> the revision it read up to
        self._advanced = asyncio.Event()
        self._closed = False

    async def stream(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        """Events under ``prefix`` from ``start_revision`` (0: from now) until closed."""
        lo, hi = prefix_bounds(prefix)
        if start_revision <= 0:
            last = self._log.current_revision()
        else:
            compact = self._log.compact_revision()
            if start_revision < compact:
                raise Compacted(start_revision, compact)
            last = start_revision - 1
        token = object()
        try:
            while not self._closed:
                changed = self._changed
                compact = self._log.compact_revision()
                if last + 1 < compact:
                    raise Compacted(last + 1, compact)
                upto = self._log.current_revision()
                rows = self._log.after(lo, hi, revision=last, upto=upto, limit=WATCH_BATCH)
                last = rows[-1].id if len(rows) == WATCH_BATCH else max(last, upto)
                self._positions[token] = last
                self._advanced.set()
                for row in rows:
                    yield event_of(row)
                if rows:
                    continue
                # asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancel
                # that lands as the event fires, and the watcher never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval):
                        await changed.wait()
        finally:
            self._positions.pop(token, None)

    async def drain(self, revision: int) -> None:
        """Give open watches (at most ``WATCH_DRAIN`` seconds) to read up to ``revision``.

        A watch that merely had no turn on the loop since the last writes is not
        behind, and a compaction right after those writes (``compact_now`` after a
        key removal) must not tell it its history is gone. A watch whose client
        stopped reading stays behind and gets ``Compacted``, as it should.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WATCH_DRAIN
        self.wake()
        while any(p < revision for p in self._positions.values()):
            left = deadline - loop.time()
            if left <= 0:
                return
            self._advanced.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), left)

    def wake(self) -> None:
        """Wake every watch waiting for rows (a write block has become durable)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def close(self) -> None:
        """Watches end at their next turn (the caller wakes them)."""
        self._closed = True
