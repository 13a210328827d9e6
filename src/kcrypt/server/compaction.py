"""History compaction: old revisions, and the old ciphertexts in them, go away.

Both engines keep every revision of every value (etcd's MVCC, kine's log
table). After a key rotation the *history* still holds each secret's previous
value encrypted under the old key, readable by anyone who later obtains that
key. kube-apiserver compacts etcd every five minutes
(``--etcd-compaction-interval``), keeping one interval of history for watchers;
k3s's kine does the same for SQLite. kcrypt does both:

* a periodic pass, like kube-apiserver's compactor: at each tick compact up to
  the revision seen at the *previous* tick, so a watcher always has at least one
  interval of history to resume from;
* :func:`kcrypt.datastore.compact_history`, which the encryption controller
  runs right after every re-encryption pass, so that no stored revision keeps
  a value under a replaced key (or in plaintext, after ``enable``).

With several servers on one etcd, kube-apiserver elects nobody: each server
compare-and-swaps a shared record and only the winner of a tick compacts.
kcrypt keeps that scheme with the record ``/kcrypt/compaction``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

from kcrypt.datastore import Datastore, KeyExists

__all__ = ["COMPACTION_KEY", "CompactionResult", "Compactor"]

log = logging.getLogger("kcrypt.server.compaction")

COMPACTION_KEY = "/kcrypt/compaction"
DEFAULT_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """``compacted_to`` is 0 when this tick did nothing (first tick, or another
    server won it)."""

    compacted_to: int
    next_target: int


class Compactor:
    """The periodic pass; :meth:`tick` is one step, :meth:`run` loops it.

    kube-apiserver's scheme (``storage/etcd3/compact.go``): every server
    remembers the version of the shared record it last saw. At a tick it
    compare-and-swaps the record against that version; the one server whose
    view was current wins and compacts to the revision *it* saw at its previous
    tick, the others only learn the new version. So each interval compacts once
    cluster-wide, and always leaves at least one interval of history.
    """

    def __init__(self, datastore: Datastore, *, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        if interval <= 0:
            raise ValueError("compaction interval must be positive")
        self._ds = datastore
        self._interval = interval
        self._target = 0  # the revision seen at the previous tick
        self._seen = 0  # the record's mod_revision at the last tick (0: absent)
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> CompactionResult:
        """Claim this tick in the shared record, then compact to the previous target."""
        target = self._target
        won = await self._claim(target)
        self._target = await self._ds.revision()
        if not won or target <= 0:
            return CompactionResult(compacted_to=0, next_target=self._target)
        await self._ds.compact(target)
        log.info("periodic compaction up to revision %d", target)
        return CompactionResult(compacted_to=target, next_target=self._target)

    async def _claim(self, target: int) -> bool:
        body = json.dumps({"compacted": target}).encode()
        if self._seen == 0:
            try:
                self._seen = await self._ds.create(COMPACTION_KEY, body)
            except KeyExists:
                kv = await self._ds.get(COMPACTION_KEY)
                self._seen = kv.mod_revision if kv is not None else 0
                return False
            return True
        result = await self._ds.update(COMPACTION_KEY, body, mod_revision=self._seen)
        if result.ok:
            self._seen = result.revision
            return True
        self._seen = result.current.mod_revision if result.current is not None else 0
        return False

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed pass is retried next tick
                log.warning("periodic compaction failed: %s", exc)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="kcrypt-compactor")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
