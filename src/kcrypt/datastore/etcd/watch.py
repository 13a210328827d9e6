"""A resumable etcd watch as an async iterator.

etcd's Watch is one bidi stream per member. When the stream breaks (member
killed, leader lost, connection reset) this iterator opens a new one on the
next member starting at *last delivered revision + 1*. etcd sends all events
of one revision in one response (we do not ask for fragments), so resuming
at a revision boundary gives no gaps and no duplicates. If that revision has
been compacted meanwhile, the watch ends with ``Compacted`` as the contract
says. A watch that cannot reach any member for ``timeout`` seconds ends with
``Unavailable``; the caller may start again from its last revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import grpc

from kcrypt.datastore.contract import Event
from kcrypt.datastore.errors import Compacted, Unavailable
from kcrypt.datastore.etcd.channel import METADATA, Channels, Stubs
from kcrypt.datastore.etcd.errors import Kind, classify, translate
from kcrypt.datastore.etcd.proto import kv_pb2, rpc_pb2

__all__ = ["EtcdWatch"]


class EtcdWatch:
    def __init__(
        self,
        channels: Channels,
        *,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        convert: Callable[[kv_pb2.Event], Event],
        compacted: int = 0,
    ) -> None:
        self._ch = channels
        self._key = key
        self._end = range_end
        self._next = start_revision
        self._convert = convert
        self._pending: deque[Event] = deque()
        self._call: Any = None  # grpc.aio.StreamStreamCall
        self._stubs: Stubs | None = None
        self._closed = False
        self._compacted = compacted  # the owner's known compaction revision

    def __aiter__(self) -> EtcdWatch:
        return self

    async def __anext__(self) -> Event:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            if 0 < self._next < self._compacted:
                self._closed = True
                raise Compacted(self._next, self._compacted)
            await self._fill()
        return self._pending.popleft()

    async def aclose(self) -> None:
        self._closed = True
        self._cancel()

    def __del__(self) -> None:
        # an abandoned watch (loop left without aclose) must not keep its stream
        with contextlib.suppress(Exception):
            self._cancel()

    def _cancel(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    async def _fill(self) -> None:
        """Read one response with events, (re)connecting as needed."""
        outage_since: float | None = None
        delay = 0.05
        while not self._pending and not self._closed:
            try:
                if self._call is None:
                    await self._open()
                self._take(await self._call.read())
                outage_since = None
                delay = 0.05
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._closed and task is not None and not task.cancelling():
                    return  # aclose() from another task cancelled our read
                raise
            except (grpc.aio.AioRpcError, _StreamEnded) as err:
                self._cancel()
                if isinstance(err, grpc.aio.AioRpcError) and classify(err) is not Kind.RETRY:
                    self._closed = True
                    raise translate(err, endpoint=self._ch.endpoint) from None
                if self._stubs is not None:
                    self._ch.failover(self._stubs)
                now = time.monotonic()
                outage_since = outage_since or now
                if now - outage_since > self._ch.timeout:
                    self._closed = True
                    raise Unavailable(
                        self._ch.endpoint,
                        f"watch could not be resumed at revision {self._next}: {err}",
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)

    async def _open(self) -> None:
        stubs = self._ch.current()
        self._stubs = stubs
        call = stubs.watch.Watch(metadata=METADATA)
        self._call = call
        await call.write(
            rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(
                    key=self._key,
                    range_end=self._end,
                    start_revision=self._next,
                    prev_kv=True,
                )
            )
        )
        # the first response confirms creation, or cancels at once when
        # start_revision is compacted (events on it: not expected, but harmless)
        self._take(await call.read())

    def _take(self, resp: Any) -> None:
        """Queue one response's events; raise on a stream end or cancel."""
        if resp is grpc.aio.EOF:
            raise _StreamEnded()
        if resp.canceled:
            if resp.compact_revision > 0:
                self._closed = True
                self._cancel()
                raise Compacted(self._next, resp.compact_revision + 1)
            raise _StreamEnded()
        if resp.events:
            for ev in resp.events:
                self._pending.append(self._convert(ev))
            self._next = resp.events[-1].kv.mod_revision + 1


class _StreamEnded(Exception):
    def __str__(self) -> str:
        return "watch stream ended"
