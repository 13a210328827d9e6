"""One server's encryption controller in-process, as production builds it.

A :class:`Node` is the controller, its service and hooks that record what the
server would see (configs applied, progress, steps). Leadership is the
server's own :class:`~kcrypt.server.leader.LeaderElection` over the same
datastore, so a single node is a cluster of one, exactly as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kcrypt.config import ConfigSnapshot, build_snapshot
from kcrypt.datastore.contract import Datastore
from kcrypt.encryption import (
    STATE_KEY,
    Controller,
    ControllerSettings,
    EncryptionService,
    EncryptionState,
    ReencryptProgress,
    ServerPublisher,
    StateStore,
    Step,
    TokenSealer,
)
from kcrypt.encryption.model import KeyProvider
from kcrypt.encryption.transitions import KeyFactory
from kcrypt.passphrase import ScryptParams
from kcrypt.server.leader import LeaderElection
from kcrypt.storage import TransformerRegistry

SETTLE = 30.0  # a bound on hangs, never a timing assertion
FAST_SCRYPT = ScryptParams(log2_n=10)
_names = itertools.count(1)


class RecordingHooks:
    """The server's side of the controller, recorded for assertions."""

    def __init__(self, ds: Datastore, node: str) -> None:
        self.elector = LeaderElection(
            ds, identity=node, ttl=3, renew_interval=0.5, retry_interval=0.02
        )
        self.registry = TransformerRegistry()
        self.applied: list[bytes] = []
        self.progressed: list[ReencryptProgress] = []
        self.steps: list[Step] = []
        self.saved: list[EncryptionState | None] = []
        self.fail_after_step: Exception | None = None

    def build_snapshot(self, data: bytes, *, source: str) -> ConfigSnapshot:
        return build_snapshot(data, source=source, reload=True)

    def apply_config(self, snapshot: ConfigSnapshot) -> None:
        self.registry.swap(snapshot)
        self.applied.append(snapshot.data)

    def progress(self, progress: ReencryptProgress) -> None:
        self.progressed.append(progress)

    async def step_done(self, step: Step, state: EncryptionState | None) -> None:
        self.steps.append(step)
        self.saved.append(state)
        if self.fail_after_step is not None:
            raise self.fail_after_step


class Node:
    """A controller + service over ``ds`` with its config file at ``path``."""

    def __init__(
        self,
        ds: Datastore,
        path: Path,
        *,
        node: str = "node-1",
        provider: str = "aescbc",
        token: str | None = None,
        page_size: int = 25,
        rotation_interval: float = 0.0,
        compaction: bool = True,
        generated: bool = False,
        poll_interval: float = 0.05,
        clock: Callable[[], float] = time.time,
        make_key: KeyFactory | None = None,
    ) -> None:
        self.ds = ds
        self.path = path
        self.hooks = RecordingHooks(ds, node)
        sealer = TokenSealer(token, record_key=STATE_KEY, params=FAST_SCRYPT) if token else None
        self.store = StateStore(ds, sealer=sealer)
        self.controller = Controller(
            ds,
            store=self.store,
            publisher=ServerPublisher(ds, node=node, ttl=3, renew_interval=0.5, clock=clock),
            hooks=self.hooks,
            settings=ControllerSettings(
                node=node,
                provider=_provider(provider),
                config_path=path,
                poll_interval=poll_interval,
                page_size=page_size,
                rotation_interval=rotation_interval,
                compaction=compaction,
                generated=generated,
                backoff=(0.01, 0.05),
            ),
            clock=clock,
        )
        self.svc = EncryptionService(self.controller, make_key=make_key)
        self._running = False

    async def start(self, *, run: bool = True) -> Node:
        await self.controller.start()
        if run:
            self.controller.run()
            self._running = True
        return self

    async def pause(self) -> None:
        """A slow server: live (its lease is renewed) but it stops following the cluster."""
        loops = [t for t in self.controller._tasks if t.get_name() != "kcrypt-record"]
        for t in loops:
            t.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        self.controller._tasks = [t for t in self.controller._tasks if t not in loops]
        self._running = False

    def resume(self) -> None:
        if not self._running:
            self.controller.run()
            self._running = True

    @property
    def following(self) -> bool:
        return self._running

    async def settle(self) -> Step:
        return await asyncio.wait_for(self.controller.settle(), SETTLE)

    async def run(self, body: dict[str, Any]) -> dict[str, Any]:
        """A command, then until the controller has nothing left to do for it."""
        out = await self.svc.apply(body)
        await self.settle()
        return out

    async def status(self) -> dict[str, Any]:
        return await self.svc.status()

    @property
    def config(self) -> bytes:
        return self.path.read_bytes()

    async def close(self) -> None:
        await self.controller.close()


def _provider(name: str) -> KeyProvider:
    assert name in ("aescbc", "aesgcm", "secretbox")
    return name  # type: ignore[return-value]


def body(command: str, *, force: bool = False, skip: bool = False) -> dict[str, Any]:
    """k3s's request body for ``command`` (``enable``/``disable`` or a stage)."""
    if command in ("enable", "disable"):
        return {"enable": command == "enable", "force": force, "skip": skip}
    stage = {"reencrypt": "reencrypt_active", "rotate-keys": "rotate_keys"}.get(command, command)
    return {"stage": stage, "force": force, "skip": skip}
