"""Scheduled snapshots: k3s's ``--etcd-snapshot-schedule-cron`` with retention.

The cron spec is parsed by croniter (standard five fields and the
``@hourly``/``@daily``-style descriptors; k3s's default ``0 */12 * * *``).
Each run takes a snapshot named ``<--etcd-snapshot-name>-<node>-<unix>``
(k3s's default name ``etcd-snapshot``) and then applies
``--etcd-snapshot-retention`` to snapshots with that name prefix. A run still
going when the next one is due is not doubled (k3s wraps its job in
``SkipIfStillRunning``). The clock and the sleep are injectable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from croniter import CroniterError, croniter

from kcrypt.snapshot.errors import SnapshotError

__all__ = ["DEFAULT_CRON", "Scheduler", "next_run"]

log = logging.getLogger("kcrypt.snapshot")

DEFAULT_CRON = "0 */12 * * *"


def next_run(spec: str, after: float) -> float:
    """The next time ``spec`` fires after ``after`` (UTC); SnapshotError for a bad spec."""
    if len(spec.split()) > 5:
        raise SnapshotError(f"invalid snapshot schedule {spec!r}: use five cron fields")
    try:
        it = croniter(spec, datetime.fromtimestamp(after, UTC))
        return float(it.get_next(float))
    except (CroniterError, ValueError, KeyError) as exc:
        raise SnapshotError(f"invalid snapshot schedule {spec!r}: {exc}") from None


class Scheduler:
    """Runs ``job`` at each time ``spec`` gives, until cancelled."""

    def __init__(
        self,
        spec: str,
        job: Callable[[], Awaitable[object]],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        next_run(spec, clock())  # refuse a bad spec at start-up
        self._spec = spec
        self._job = job
        self._clock = clock
        self._sleep = sleep

    async def run(self) -> None:
        while True:
            due = next_run(self._spec, self._clock())
            await self._sleep(max(0.0, due - self._clock()))
            try:
                await self._job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next run tries again
                log.error("Failed to take etcd snapshot: %s", exc)
