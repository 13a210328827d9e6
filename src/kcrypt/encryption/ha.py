"""This server as a member of a cluster: its record, the gate, the runner, the watches.

:class:`ClusterMember` is what :class:`~kcrypt.encryption.service.EncryptionService`
needs to run on several servers sharing one datastore:

* :meth:`ClusterMember.convergence` -- where the servers stand against a
  config hash (:func:`kcrypt.encryption.servers.convergence` over the records);
* :meth:`ClusterMember.wait_converged` -- the gate: returns once every live
  server applied a hash (down servers do not block; they re-sync from the
  datastore before they serve again);
* :meth:`ClusterMember.run_exclusive` -- run the re-encryption on the
  elected server only (:mod:`kcrypt.server.leader` provides the election);
* :func:`watch_key` -- call back on every change of the state record, and
  on a timer, so a missed event costs at most one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kcrypt.datastore.contract import Datastore
from kcrypt.datastore.errors import DatastoreError
from kcrypt.encryption.rollout import Elector
from kcrypt.encryption.servers import (
    Convergence,
    ServerPublisher,
    ServerView,
    convergence,
    list_servers,
)
from kcrypt.encryption.status import server_rows

__all__ = ["ClusterMember", "ClusterView", "watch_key"]

log = logging.getLogger("kcrypt.encryption.ha")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What ``status`` adds in a cluster: k3s's sentence and (2+ servers) the table rows."""

    hash_error: str | None
    rows: list[dict[str, Any]] | None


class ClusterMember:
    def __init__(
        self,
        datastore: Datastore,
        *,
        publisher: ServerPublisher,
        elector: Elector | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self._ds = datastore
        self.publisher = publisher
        self._elector = elector
        self.poll_interval = poll_interval

    @property
    def node(self) -> str:
        return self.publisher.node

    async def servers(self) -> list[ServerView]:
        return await list_servers(self._ds)

    async def convergence(self, desired_hash: str) -> Convergence:
        return convergence(await self.servers(), desired_hash)

    async def view(self, desired_hash: str) -> ClusterView:
        servers = await self.servers()
        rows = server_rows(servers, desired=desired_hash) if len(servers) > 1 else None
        return ClusterView(convergence(servers, desired_hash).hash_error, rows)

    async def wait_converged(self, desired_hash: str) -> Convergence:
        """Block until every live server applied ``desired_hash`` (logged while waiting)."""
        reported: tuple[str, ...] | None = None
        while True:
            try:
                conv = await self.convergence(desired_hash)
            except DatastoreError as exc:
                log.warning("cannot read the server records: %s", exc)
            else:
                if conv.all_applied:
                    return conv
                if conv.lagging != reported:
                    reported = conv.lagging
                    log.info(
                        "waiting for %s to apply config %s before going on",
                        ", ".join(conv.lagging),
                        desired_hash[:12],
                    )
            await asyncio.sleep(self.poll_interval)

    async def run_exclusive(self, work: Callable[[], Awaitable[T]]) -> T:
        if self._elector is None:
            return await work()
        return await self._elector.run_as_leader(work)

    async def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.publisher.run(), name="kcrypt-server-record")

    async def close(self) -> None:
        await self.publisher.close()


async def watch_key(
    datastore: Datastore,
    key: str,
    on_change: Callable[[], Awaitable[None]],
    *,
    interval: float,
) -> None:
    """Call ``on_change`` after each change of ``key`` and every ``interval`` (until cancelled).

    The timer also covers a watch that broke (the datastore was away): the
    watch is opened again from the current revision, after one call.
    """
    wake = asyncio.Event()

    async def watcher() -> None:
        while True:
            try:
                revision = await datastore.revision()
                async for event in datastore.watch(key, start_revision=revision + 1):
                    if event.kv.key == key:
                        wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watch on %s broke (%s); watching again", key, exc)
                wake.set()
                await asyncio.sleep(interval)

    task = asyncio.create_task(watcher(), name=f"kcrypt-watch{key}")
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=interval)
            wake.clear()
            try:
                await on_change()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one failed sync must not end syncing for good
                log.error("syncing %s failed: %s", key, exc)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
