"""core/v1 Events: their time to live, and a recorder for kcrypt's own operations.

Events are stored like every other object (``/registry/events/<ns>/<name>``,
through the resource's transformer), with one difference kube-apiserver also
makes: they expire. ``--event-ttl`` is one hour upstream; each event is put
with a datastore lease, and one lease is shared by all events created within a
minute (:class:`EventLeases`), as kube-apiserver's lease manager does, so
a burst of events costs one lease grant, not one per event.

:class:`EventRecorder` is what kcrypt's own long operations (a re-encryption
pass starting, making progress, finishing; an old key removed) use, the way
k3s records its secrets-encrypt progress on the node: plain values in
(reason, message, the object involved), a core/v1 Event out, shaped as
client-go's ``record.EventRecorder`` makes it. Recording never blocks or fails
the operation: :meth:`EventRecorder.emit` queues (dropping when a burst fills
the queue, as client-go does) and one background task writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kcrypt.datastore import errors as ds_errors
from kcrypt.datastore.contract import Datastore

__all__ = [
    "DEFAULT_EVENT_TTL",
    "EventLeases",
    "EventRecorder",
    "InvolvedObject",
    "new_event",
]

log = logging.getLogger("kcrypt.storage.events")

DEFAULT_EVENT_TTL = 3600.0
"""kube-apiserver's ``--event-ttl`` default (one hour)."""
_REUSE = 60.0
_QUEUE = 1000


class EventLeases:
    """One datastore lease per minute of events, each living at least ``ttl``."""

    def __init__(
        self,
        datastore: Datastore,
        *,
        ttl: float = DEFAULT_EVENT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._ds = datastore
        self._clock = clock
        self._lease = 0
        self._expires = 0.0

    async def lease(self) -> int:
        now = self._clock()
        if self._lease and self._expires - now >= self.ttl:
            return self._lease
        lease = await self._ds.grant_lease(int(self.ttl + _REUSE))
        self._lease, self._expires = lease, now + self.ttl + _REUSE
        return lease

    def forget(self, lease: int) -> None:
        """``lease`` is gone (expired early, revoked): grant a new one next time."""
        if self._lease == lease:
            self._lease = 0

    async def call(self, write: Callable[[int], Awaitable[int]]) -> int:
        """``write(lease)``, once more with a new lease if this one vanished meanwhile."""
        lease = await self.lease()
        try:
            return await write(lease)
        except ds_errors.LeaseNotFound:
            self.forget(lease)
            return await write(await self.lease())


@dataclass(frozen=True, slots=True)
class InvolvedObject:
    """The ObjectReference an event is about (k3s uses the Node: kind, name, uid = node)."""

    kind: str
    name: str
    namespace: str = ""
    uid: str = ""
    api_version: str = "v1"


def _now() -> datetime:
    return datetime.now(UTC)


def new_event(
    involved: InvolvedObject,
    *,
    reason: str,
    message: str,
    event_type: str = "Normal",
    component: str,
    host: str = "",
    at: datetime,
) -> dict[str, Any]:
    """The core/v1 Event client-go's recorder would make (``makeEvent``)."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    ref = {"kind": involved.kind, "namespace": involved.namespace, "name": involved.name}
    ref |= {"uid": involved.uid, "apiVersion": involved.api_version}
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{involved.name}.{int(at.timestamp()) * 10**9 + at.microsecond * 1000:x}",
            "namespace": involved.namespace or "default",
        },
        "involvedObject": {k: v for k, v in ref.items() if v},
        "reason": reason,
        "message": message,
        "source": {"component": component, "host": host} if host else {"component": component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": event_type,
        "reportingComponent": component,
        "reportingInstance": host,
    }


Create = Callable[[dict[str, Any]], Awaitable[object]]


class EventRecorder:
    """``emit(...)`` from anywhere on the loop; a background task creates the events.

    ``create`` stores one event (``ObjectStore.create`` bound to ``"events"``).
    """

    def __init__(
        self,
        create: Create,
        *,
        component: str = "kcrypt",
        host: str = "",
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._create = create
        self._component = component
        self._host = host
        self._clock = clock
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=_QUEUE)
        self._worker: asyncio.Task[None] | None = None
        self.dropped = 0

    def emit(
        self,
        involved: InvolvedObject,
        *,
        reason: str,
        message: str,
        event_type: str = "Normal",
    ) -> None:
        """Queue one event; never raises, never waits (a full queue drops it)."""
        event = new_event(
            involved,
            reason=reason,
            message=message,
            event_type=event_type,
            component=self._component,
            host=self._host,
            at=self._clock(),
        )
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            return
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="kcrypt-events")

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._create(event)
            except Exception as exc:  # an event that cannot be stored is only a lost event
                log.warning("event %s not recorded: %s", event["reason"], type(exc).__name__)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Wait until every queued event was written (or failed)."""
        if self._worker is not None and not self._worker.done():
            await self._queue.join()

    async def close(self) -> None:
        """Write what is queued, then stop the worker."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), timeout=5)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
