"""The server's own snapshots: on k3s's cron schedule, and after every key change.

``--etcd-snapshot-schedule-cron`` (default ``0 */12 * * *``) takes
``<--etcd-snapshot-name>-<node>-<unix>`` and applies
``--etcd-snapshot-retention``; when a re-encryption pass finishes (enable,
disable, rotation) :meth:`ServerSnapshots.after_key_change` takes
``key-change-<node>-<unix>`` (:func:`kcrypt.snapshot.take_snapshot_after_key_change`).
Both go to ``--etcd-snapshot-dir`` (default ``<data-dir>/server/db/snapshots``)
and are named in the log and in ``secrets-encrypt status`` (its text; the
CLI asks ``GET /v1-kcrypt/snapshots/status`` beside k3s's status document,
which stays k3s's shape).
``--etcd-disable-snapshots`` turns both off. A snapshot never blocks or
undoes what triggered it: it runs as its own task, one at a time (a change
while one runs is snapshotted right after it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kcrypt.datastore import Datastore
from kcrypt.encryption import config_sha256
from kcrypt.server.settings import ServerSettings
from kcrypt.snapshot import (
    Scheduler,
    SnapshotPolicy,
    snapshot_status,
    take_scheduled_snapshot,
    take_snapshot_after_key_change,
)

__all__ = ["SNAPSHOT_STATUS_PATH", "ServerSnapshots"]

SNAPSHOT_STATUS_PATH = "/v1-kcrypt/snapshots/status"

log = logging.getLogger("kcrypt.server.snapshots")


class ServerSnapshots:
    def __init__(
        self, settings: ServerSettings, *, datastore: Datastore, token: str, config_path: Path
    ) -> None:
        snap = settings.snapshots
        self.enabled = not snap.disabled
        self._ds = datastore
        self._token = token
        self._config_path = config_path
        self._cron = snap.schedule_cron
        self.policy = SnapshotPolicy(
            directory=snap.directory or settings.paths.snapshot_dir,
            node=settings.node_name,
            retention=snap.retention,
            name=snap.name,
            default_dir=snap.directory is None,
        )
        self._tasks: list[asyncio.Task[Any]] = []
        self._pending: list[str] = []
        self._worker: asyncio.Task[None] | None = None

    def _config(self) -> bytes | None:
        try:
            return self._config_path.read_bytes() or None
        except OSError:
            return None

    def start(self) -> None:
        if not self.enabled:
            log.info("snapshots disabled (--etcd-disable-snapshots)")
            return
        scheduler = Scheduler(self._cron, self._scheduled)
        self._tasks.append(asyncio.create_task(scheduler.run(), name="kcrypt-snapshot-cron"))
        log.info("scheduled snapshots %r to %s", self._cron, self.policy.directory)

    async def _scheduled(self) -> None:
        await take_scheduled_snapshot(
            self._ds, policy=self.policy, token=self._token, config=self._config()
        )

    def after_key_change(self, reason: str) -> None:
        """Queue a snapshot of the keys just changed (non-blocking)."""
        if not self.enabled:
            return
        self._pending.append(reason)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="kcrypt-snapshot-after-change")

    async def _drain(self) -> None:
        while self._pending:
            reasons = ", ".join(dict.fromkeys(self._pending))
            self._pending.clear()
            await take_snapshot_after_key_change(
                self._ds,
                policy=self.policy,
                reason=reasons,
                token=self._token,
                config=self._config(),
            )

    async def idle(self) -> None:
        """Until no snapshot after a key change is running (tests, shutdown)."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    def routes(self) -> list[BaseRoute]:
        async def status(request: Request) -> Response:
            doc = await snapshot_status(self._ds, config_hash=config_sha256(self._config() or b""))
            return JSONResponse(doc)

        return [Route(SNAPSHOT_STATUS_PATH, status, methods=["GET"])]

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._worker] if self._worker else [])]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
