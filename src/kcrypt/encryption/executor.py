"""What each acting step does: at most one compared save, plus the work before it.

The runner (:mod:`kcrypt.encryption.runner`) decides *which* step; this module
does it. The new states are computed by :mod:`kcrypt.encryption.outcomes`
(pure); every save is compared on the revision the step's facts were loaded
at, so a step decided from stale facts changes nothing (``StateConflict``)
and the runner decides again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kcrypt.config import ConfigSnapshot
from kcrypt.datastore import compact_history
from kcrypt.datastore.contract import Datastore
from kcrypt.encryption.configjson import config_sha256
from kcrypt.encryption.hooks import ControllerHooks
from kcrypt.encryption.model import EncryptionState, ReencryptProgress
from kcrypt.encryption.outcomes import (
    decide,
    failed_state,
    finished_state,
    promoted_state,
    removed_state,
)
from kcrypt.encryption.reencrypt import Reencryptor, Target
from kcrypt.encryption.safety import prove_unused
from kcrypt.encryption.snapshots import SnapshotCache
from kcrypt.encryption.stages import Command, ParsedRequest, Stage
from kcrypt.encryption.statestore import StateStore
from kcrypt.encryption.steps import Action, Facts, Step
from kcrypt.encryption.usage import Proof

if TYPE_CHECKING:
    from kcrypt.encryption.runner import ControllerSettings

__all__ = ["SERVED_RESOURCES", "Executor", "pass_targets"]

log = logging.getLogger("kcrypt.encryption")

SERVED_RESOURCES = ("secrets", "configmaps", "namespaces", "events")
"""What kcrypt stores: a wildcard rule covers these."""


def pass_targets(snapshot: ConfigSnapshot) -> list[Target]:
    """The storage prefixes a pass covers: every resource the config names.

    A wildcard rule (``*.*``) covers every resource kcrypt stores. Resources
    are listed in config order, secrets first; ``deployments.apps`` is stored
    under ``/registry/deployments/`` as kube-apiserver stores it.
    """
    names: list[str] = []
    for entry in snapshot.config.resources:
        for name in entry.resources:
            names.extend(SERVED_RESOURCES if "*" in name else [name])
    ordered = sorted(dict.fromkeys(names), key=lambda n: n != "secrets")
    targets: list[Target] = []
    for name in ordered:
        resource, _, group = name.partition(".")
        targets.append(
            Target(
                prefix=f"/registry/{resource}/",
                transformer=snapshot.for_resource(resource, group),
                write_prefix=snapshot.write_prefix(resource, group),
            )
        )
    return targets


class Executor:
    def __init__(
        self,
        datastore: Datastore,
        *,
        store: StateStore,
        hooks: ControllerHooks,
        snapshots: SnapshotCache,
        settings: ControllerSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ds = datastore
        self._store = store
        self._hooks = hooks
        self._snapshots = snapshots
        self._settings = settings
        self._clock = clock
        self.proof: Proof | None = None
        """The last key-removal proof (a fact for the next step; kept in memory)."""
        self.progress: ReencryptProgress | None = None
        """The last progress of a pass this server ran."""

    async def run(self, step: Step, facts: Facts, *, revision: int) -> None:
        state = facts.state
        assert state is not None
        new: EncryptionState | None = None
        now = self._clock()
        started = time.monotonic()
        if step.action is Action.ROTATE:
            decision = decide(
                state,
                ParsedRequest(Command.ROTATE_KEYS),
                provider=state.provider,
                node=self._settings.node,
                now=now,
                scheduled=True,
            )
            new = decision.state
            log.info("scheduled key rotation: %s", decision.plan.message)
        elif step.action is Action.PROMOTE:
            new = promoted_state(state, now=now)
        elif step.action is Action.PASS:
            await self._pass(state)
        elif step.action is Action.SCAN:
            await self._scan(facts)
        elif step.action is Action.REMOVE_KEY:
            assert step.removal is not None
            new = removed_state(state, step.removal, now=now)
        elif step.action is Action.RECORD_ERROR:
            log.error("re-encryption stopped: %s", step.message)
            new = failed_state(state, step.message)
        elif step.action is Action.COMPACT:
            await compact_history(self._ds)
            new = finished_state(state)
        elif step.action is Action.FINISH:
            new = finished_state(state)
        if new is not None:
            self._snapshots.get(new.config)  # refuse what kube-apiserver would refuse
            await self._store.save(new, mod_revision=revision)
        log.info(
            "step %s done in %.3fs: %s", step.action.value, time.monotonic() - started, step.message
        )
        try:
            await self._hooks.step_done(step, new)
        except Exception:
            log.exception("after %s", step.action.value)

    async def adopt_file(self, data: bytes, *, revision: int) -> None:
        """No state yet: the local file becomes it at stage ``start`` (k3s's upgrade path)."""
        self._snapshots.get(data)
        state = EncryptionState(
            config=data,
            stage=Stage.START,
            config_hash=config_sha256(data),
            provider=self._settings.provider,
            activated=self._clock(),
        )
        await self._store.save(state, mod_revision=revision)

    async def _pass(self, state: EncryptionState) -> None:
        assert state.job is not None
        built = self._snapshots.get(state.config)
        engine = Reencryptor(
            self._ds,
            pass_targets(built.snapshot),
            config_hash=state.job.config_hash,
            page_size=self._settings.page_size,
            on_progress=self._on_progress,
        )
        self.proof = None
        await engine.run(resume=True)

    def _on_progress(self, progress: ReencryptProgress) -> None:
        self.progress = progress
        self._hooks.progress(progress)

    async def _scan(self, facts: Facts) -> None:
        assert facts.checkpoint is not None and facts.keys is not None
        names = [k.name for _, k in facts.keys.all_keys()]
        self.proof = await prove_unused(self._ds, facts.checkpoint, known_names=names)
        log.info(
            "key-removal proof: %d values checked%s, usage %s",
            self.proof.checked,
            " (full scan)" if self.proof.full else " (written since the pass began)",
            self.proof.usage or "none",
        )
