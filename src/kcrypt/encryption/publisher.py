"""This server's record and lease in the datastore, and the listing of all of them.

The record layout and the pure gate are in :mod:`kcrypt.encryption.servers`.
The record is rewritten on each change of what the server applied and on
every renewal (so "last seen" of a down server is at most one interval old);
each write is compared on the record's revision, because only its own server
writes it and a failed compare means an operator deleted it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.datastore.errors import DatastoreError, LeaseNotFound
from kcrypt.encryption.servers import LIVE_PREFIX, SERVERS_PREFIX, ServerRecord, ServerView

__all__ = ["DEFAULT_RENEW", "DEFAULT_TTL", "ServerPublisher", "list_servers"]

log = logging.getLogger("kcrypt.encryption.servers")

DEFAULT_TTL = 15
DEFAULT_RENEW = 5.0


async def list_servers(datastore: Datastore) -> list[ServerView]:
    """Every server record, each with its liveness."""
    records = await datastore.range(SERVERS_PREFIX)
    markers = await datastore.range(LIVE_PREFIX)
    live = {kv.key[len(LIVE_PREFIX) :] for kv in markers.kvs}
    views: list[ServerView] = []
    for kv in records.kvs:
        record = ServerRecord.decode(kv.value)
        if record is not None:
            views.append(ServerView(record, record.node in live))
    return views


class ServerPublisher:
    """This server's record and lease: :meth:`publish` on change, :meth:`run` to stay live."""

    def __init__(
        self,
        datastore: Datastore,
        *,
        node: str,
        ttl: int = DEFAULT_TTL,
        renew_interval: float = DEFAULT_RENEW,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if "/" in node or not node:
            raise ValueError(f"invalid node name {node!r}")
        self._ds = datastore
        self.node = node
        self.ttl = ttl
        self.renew_interval = renew_interval
        self._clock = clock
        self._sleep = sleep
        self._record = ServerRecord(node, started=clock())
        self._rev = 0
        self._lease = 0
        self._lock = asyncio.Lock()

    @property
    def key(self) -> str:
        return SERVERS_PREFIX + self.node

    @property
    def live_key(self) -> str:
        return LIVE_PREFIX + self.node

    @property
    def record(self) -> ServerRecord:
        return self._record

    async def previous(self) -> ServerRecord | None:
        """What this node published before this process started (None: never)."""
        kv = await self._ds.get(self.key)
        if kv is None:
            return None
        self._rev = kv.mod_revision
        return ServerRecord.decode(kv.value)

    async def publish(self, **changes: object) -> ServerRecord:
        """Write the record with ``changes`` (``config_hash``, ``stage``, ...) and mark live."""
        async with self._lock:
            self._record = replace(self._record, **changes)  # type: ignore[arg-type]
            await self._write()
            await self._ensure_live()
            return self._record

    async def run(self) -> None:
        """Renew the lease and the record every ``renew_interval`` until cancelled."""
        while True:
            await self._sleep(self.renew_interval)
            try:
                async with self._lock:
                    await self._ensure_live()
                    await self._write()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the datastore may be away; keep trying
                log.warning("cannot renew server record of %s: %s", self.node, exc)

    async def close(self) -> None:
        """Drop the liveness marker at once (a clean stop is not a crash; the record stays)."""
        lease, self._lease = self._lease, 0
        if lease:
            try:
                async with self._lock:
                    self._record = replace(self._record, last_seen=self._clock())
                    await self._write()
                await self._ds.revoke_lease(lease)
            except (DatastoreError, OSError) as exc:
                log.debug("revoking the lease of %s: %s", self.node, exc)

    async def _write(self) -> None:
        self._record = replace(self._record, last_seen=self._clock())
        value = self._record.encode()
        for _ in range(3):
            result = await self._ds.txn_put([PutIf(self.key, value, self._rev)])
            if result.succeeded[0]:
                self._rev = result.revisions[0]
                return
            kv = await self._ds.get(self.key)  # deleted by an operator, or a stale revision
            self._rev = kv.mod_revision if kv is not None else 0
        raise DatastoreError(f"cannot write {self.key}: it keeps changing")

    async def _ensure_live(self) -> None:
        if self._lease:
            try:
                await self._ds.keepalive(self._lease)
                if await self._ds.get(self.live_key) is not None:
                    return
            except LeaseNotFound:
                log.warning("the lease of %s expired; taking a new one", self.node)
                self._lease = 0
        if not self._lease:
            self._lease = await self._ds.grant_lease(self.ttl)
        kv = await self._ds.get(self.live_key)
        rev = kv.mod_revision if kv is not None else 0
        await self._ds.txn_put([PutIf(self.live_key, self.node.encode(), rev, lease=self._lease)])
