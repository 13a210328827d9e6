"""The snapshot directory's rules (k3s's names, retention per prefix, hidden partial
saves) and the cron schedule, on an injected clock."""

from __future__ import annotations

import asyncio
import calendar
from pathlib import Path

import pytest

from kcrypt.snapshot import (
    Scheduler,
    SnapshotError,
    SnapshotNotFound,
    clean_partial,
    delete_snapshot,
    list_snapshots,
    next_run,
    prune,
    snapshot_name,
)


def touch(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(b"x")
    return path


def test_names_listing_and_retention_follow_k3s(tmp_path: Path) -> None:
    assert snapshot_name("on-demand", "server-0", 1753178523.4) == "on-demand-server-0-1753178523"
    for t in (100, 300, 200):
        touch(tmp_path, f"etcd-snapshot-n1-{t}.zip")
    touch(tmp_path, "on-demand-n1-50.zip")
    touch(tmp_path, ".etcd-snapshot-n1-400.zip.tmp-1-ab")  # a save in progress (or killed)
    assert [s.name for s in list_snapshots(tmp_path)] == [
        "on-demand-n1-50",
        "etcd-snapshot-n1-100",
        "etcd-snapshot-n1-200",
        "etcd-snapshot-n1-300",
    ]
    doomed = prune(tmp_path, "etcd-snapshot", 2)
    assert [s.name for s in doomed] == ["etcd-snapshot-n1-100"]
    assert prune(tmp_path, "etcd-snapshot", 0) == []  # retention < 1 keeps everything
    assert len(list_snapshots(tmp_path)) == 3
    assert delete_snapshot(tmp_path, "on-demand-n1-50.zip").name == "on-demand-n1-50"
    with pytest.raises(SnapshotNotFound):
        delete_snapshot(tmp_path, "on-demand-n1-50")


def test_partial_saves_are_cleaned_only_once_old(tmp_path: Path) -> None:
    partial = touch(tmp_path, ".x.zip.tmp-1-ab")
    work = tmp_path / ".x.tmp-work-1"
    work.mkdir()
    now = partial.stat().st_mtime
    assert clean_partial(tmp_path, now=now + 60) == 0  # may be a save running right now
    assert clean_partial(tmp_path, now=now + 7200) == 2
    assert list(tmp_path.iterdir()) == []


def test_the_default_schedule_fires_at_midnight_and_noon() -> None:
    at = calendar.timegm((2026, 12, 1, 5, 40, 0))
    assert next_run("0 */12 * * *", at) == calendar.timegm((2026, 12, 1, 12, 0, 0))
    assert next_run("@hourly", at) == calendar.timegm((2026, 12, 1, 6, 0, 0))
    for bad in ("every five minutes", "* * * * * *", "0 0 30 2 *"):
        with pytest.raises(SnapshotError, match="invalid snapshot schedule"):
            next_run(bad, at)


async def test_the_scheduler_runs_the_job_at_each_due_time_on_a_fake_clock() -> None:
    now = [float(calendar.timegm((2026, 12, 1, 11, 59, 0)))]
    runs: list[float] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        await asyncio.sleep(0)

    async def job() -> None:
        runs.append(now[0])
        if len(runs) == 3:
            raise asyncio.CancelledError

    scheduler = Scheduler("0 */12 * * *", job, clock=lambda: now[0], sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await scheduler.run()
    noon = calendar.timegm((2026, 12, 1, 12, 0, 0))
    assert runs == [noon, noon + 12 * 3600, noon + 24 * 3600]
    assert slept[0] == 60.0
