"""Snapshots the server takes by itself: after every key change, and on a schedule.

The seed's only advice against restore failures is "when you enable or
disable encryption, or when you rotate keys, you should create a snapshot".
:func:`take_snapshot_after_key_change` does it: the server calls it when a
re-encryption pass has finished (or ``kcrypt up`` has changed keys) and
snapshots are configured. The snapshot is named
``key-change-<node>-<unix>`` (retention applies per name prefix, as k3s's
does), its reason names the change, it is logged and recorded in
``/kcrypt/snapshot/last`` for ``status``. A failure is logged and recorded
too -- it never undoes or blocks the key change itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kcrypt.datastore import Datastore
from kcrypt.snapshot.directory import clean_partial, prepare_dir, prune
from kcrypt.snapshot.records import LastSnapshot, write_last
from kcrypt.snapshot.save import Saved, keys_at_hand, save_snapshot

__all__ = [
    "KEY_CHANGE_NAME",
    "SnapshotPolicy",
    "take_scheduled_snapshot",
    "take_snapshot_after_key_change",
]

log = logging.getLogger("kcrypt.snapshot")

KEY_CHANGE_NAME = "key-change"


@dataclass(frozen=True, slots=True)
class SnapshotPolicy:
    """Where and how the server keeps its own snapshots (k3s's server flags)."""

    directory: Path
    node: str
    retention: int = 5
    name: str = "etcd-snapshot"
    """Base name of scheduled snapshots (``--etcd-snapshot-name``)."""
    default_dir: bool = True
    """``directory`` is the default one, created when missing (k3s creates only that one)."""


async def _take(
    ds: Datastore,
    policy: SnapshotPolicy,
    *,
    base: str,
    reason: str,
    token: str | None,
    config: bytes | None,
    rkestate: bytes | None,
    clock: Callable[[], float],
) -> Saved | None:
    try:
        directory = prepare_dir(policy.directory, default=policy.default_dir)
        clean_partial(directory, now=clock())
        keys = await keys_at_hand(ds, token=token, config=config, rkestate=rkestate)
        saved = await save_snapshot(
            ds,
            directory=directory,
            name=base,
            node=policy.node,
            reason=reason,
            keys=keys,
            rkestate=rkestate,
            clock=clock,
        )
        prune(directory, base, policy.retention)
    except Exception as exc:
        log.error("Failed to take etcd snapshot (%s): %s", reason, exc)
        await _record(ds, LastSnapshot("", clock(), reason, str(exc)))
        return None
    await _record(ds, LastSnapshot(saved.name, clock(), reason))
    return saved


async def _record(ds: Datastore, last: LastSnapshot) -> None:
    try:
        await write_last(ds, last)
    except Exception as exc:  # read-only or unreachable store: the log line stands
        log.warning("could not record the last snapshot in the datastore: %s", exc)


async def take_snapshot_after_key_change(
    ds: Datastore,
    *,
    policy: SnapshotPolicy,
    reason: str,
    token: str | None,
    config: bytes | None,
    rkestate: bytes | None = None,
    clock: Callable[[], float] = time.time,
) -> Saved | None:
    """Snapshot ``ds`` because its keys just changed (``reason`` says how); None on failure."""
    saved = await _take(
        ds,
        policy,
        base=KEY_CHANGE_NAME,
        reason=reason,
        token=token,
        config=config,
        rkestate=rkestate,
        clock=clock,
    )
    if saved is not None:
        log.info("Snapshot %s taken after a key change (%s)", saved.name, reason)
    return saved


async def take_scheduled_snapshot(
    ds: Datastore,
    *,
    policy: SnapshotPolicy,
    token: str | None,
    config: bytes | None,
    clock: Callable[[], float] = time.time,
) -> Saved | None:
    return await _take(
        ds,
        policy,
        base=policy.name,
        reason="scheduled",
        token=token,
        config=config,
        rkestate=None,
        clock=clock,
    )
