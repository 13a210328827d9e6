"""The supervisor's request handlers: ``status()``, ``apply(request)`` and ``progress()``.

The server mounts them on an :class:`EncryptionService`::

    GET /v1-kcrypt/encrypt/status    -> 200 JSON await service.status()
    PUT /v1-kcrypt/encrypt/config    -> 200 JSON await service.apply(body)
                                        (EncryptionError -> exc.code + exc message)
    GET /v1-kcrypt/encrypt/progress  -> 200 JSON await service.progress()
        ?afterRevision=R&timeoutSeconds=T: once something changed after R, or after T

A command is decided purely (:func:`kcrypt.encryption.outcomes.decide`) from
the facts the controller loads, validated as kube-apiserver would, saved with
compare-and-swap *before* any value is rewritten (k3s #13763), and applied on
this server before the answer; the controller (:mod:`kcrypt.encryption.runner`)
takes it from there -- every other server applies it, the elected one runs
the pass, the proof, the key removal and the compaction. Lost races (another
command or a controller step saved first) are decided again, a few times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from kcrypt.datastore import Compacted
from kcrypt.encryption.configjson import config_sha256, redacted_json
from kcrypt.encryption.errors import ReencryptInProgress, StateConflict
from kcrypt.encryption.model import EncryptionState, ReencryptProgress
from kcrypt.encryption.outcomes import decide
from kcrypt.encryption.reencrypt import CHECKPOINT_KEY, load_checkpoint
from kcrypt.encryption.runner import Controller
from kcrypt.encryption.servers import LIVE_PREFIX, SERVERS_PREFIX, convergence
from kcrypt.encryption.stages import Stage, parse_request
from kcrypt.encryption.status import (
    progress_document,
    rotation_document,
    server_rows,
    status_document,
)
from kcrypt.encryption.steprecord import load_step
from kcrypt.encryption.transitions import KeyFactory

__all__ = ["EncryptionService"]

log = logging.getLogger("kcrypt.encryption")

_KCRYPT = "/kcrypt/"
"""Where the state record and the pass checkpoint live (a progress wait watches it)."""

_QUIET = frozenset({"idle", "no-encryption-state", "rotation-scheduled"})
"""Step reasons that mean "nothing to do": status stays exactly k3s's."""


class EncryptionService:
    """k3s's ``secrets-encrypt`` server side over one controller."""

    def __init__(
        self, controller: Controller, *, make_key: KeyFactory | None = None, retries: int = 3
    ) -> None:
        self._c = controller
        self._make_key = make_key
        self._retries = retries

    async def status(self) -> dict[str, Any]:
        """k3s's ``EncryptionState`` JSON, plus progress, servers, the step and the schedule."""
        c = self._c
        facts, _ = await c.facts()
        state = facts.state
        if state is None:
            data = c.read_file()
            if data is None:
                return status_document(None, "", annotations={})
            keys = c.snapshots.get(data).keys
            return status_document(keys, Stage.START.value, annotations={})
        progress = None
        if state.job is not None:
            current = await self._pass_progress(state)
            running = not state.job.error
            if current is not None or running:
                progress = progress_document(
                    current or ReencryptProgress(total=0), running=running, error=state.job.error
                )
        servers = facts.servers
        step = await load_step(c.datastore)
        rotation = None
        if c.settings.rotation_interval > 0:
            rotation = rotation_document(
                interval=c.settings.rotation_interval, activated=state.activated, now=facts.now
            )
        return status_document(
            facts.keys,
            state.stage.value,
            annotations={},
            hash_error=convergence(servers, state.config_hash).hash_error,
            progress=progress,
            servers=server_rows(servers, desired=state.config_hash) if len(servers) > 1 else None,
            config_hash=state.config_hash,
            step=None if step is None or step.reason in _QUIET else asdict(step),
            rotation=rotation,
        )

    async def progress(self, *, after: int = 0, wait: float = 0.0) -> dict[str, Any]:
        """What ``secrets-encrypt`` waits on: the state's generation, its job, the last pass,
        and the datastore ``revision`` they were read at.

        Given the ``revision`` of a document already seen (``after``), the answer waits
        (at most ``wait`` seconds) until the state record, the pass checkpoint or a
        server's record has changed since -- on whichever server the change was made --
        so a waiting client hears of each step as it lands instead of a poll interval
        later (and one waiting for servers to apply a config, of each that did)."""
        if after > 0 and wait > 0:
            await self._changed_since(after, wait)
        revision = await self._c.datastore.revision()  # first: a later change is seen next
        state, _ = await self._c.store.load()
        doc: dict[str, Any] = {
            "generation": state.generation if state else 0,
            "job": None,
            "revision": revision,
        }
        if state is not None and state.job is not None:
            doc["job"] = {"configHash": state.job.config_hash, "error": state.job.error}
        ckpt, _ = await load_checkpoint(self._c.datastore)
        if ckpt is not None:
            p = ckpt.progress()
            doc["pass"] = {
                **progress_document(p, running=not p.finished),
                "configHash": ckpt.config_hash,
            }
        return doc

    async def _changed_since(self, revision: int, wait: float) -> None:
        """Until the state, the pass checkpoint or a server's record (what it applied,
        whether it is live) changed after ``revision``, at most ``wait`` seconds."""
        keys = {self._c.store.key, CHECKPOINT_KEY}
        watch = self._c.datastore.watch(_KCRYPT, start_revision=revision + 1)
        with contextlib.suppress(TimeoutError, Compacted):  # compacted: changed, surely
            async with contextlib.aclosing(watch) as events, asyncio.timeout(wait):  # type: ignore[type-var]
                async for event in events:
                    key = event.kv.key
                    if key in keys or key.startswith((SERVERS_PREFIX, LIVE_PREFIX)):
                        return

    async def apply(self, request: Mapping[str, object]) -> dict[str, Any]:
        """Run one k3s ``EncryptionRequest``; returns ``{"message": ...}`` (or the dry run).

        Raises :class:`EncryptionError` subclasses with the real reason.
        """
        req = parse_request(request)
        c = self._c
        for attempt in range(self._retries):
            facts, rev = await c.facts()
            state = facts.state
            if state is not None and state.job is not None and not state.job.error:
                raise ReencryptInProgress(await self._progress_text(state))
            hash_error = None
            if state is not None:
                hash_error = convergence(facts.servers, state.config_hash).hash_error
            decision = decide(
                state,
                req,
                provider=c.settings.provider,
                node=c.settings.node,
                now=facts.now,
                file_config=c.read_file() if state is None else None,
                hash_error=hash_error,
                make_key=self._make_key,
            )
            outcome = decision.plan
            if req.dry_run:
                return {
                    "dryRun": True,
                    "currentStage": (state.stage if state else Stage.START).value,
                    "stage": outcome.stage.value,
                    "reencrypt": outcome.reencrypt,
                    "message": outcome.message,
                    "config": redacted_json(decision.written),
                }
            if decision.state is None:
                log.info("%s", outcome.message)
                return {"message": outcome.message}
            c.snapshots.get(decision.state.config)  # refuse what kube-apiserver would refuse
            try:
                await c.store.save(decision.state, mod_revision=rev)
            except StateConflict:
                if attempt + 1 < self._retries:
                    continue
                raise
            log.info("%s", outcome.message)
            await c.apply_if_needed()  # this server runs it before answering
            c.wake()
            return {
                "message": outcome.message,
                "configHash": config_sha256(decision.state.config),
                "generation": decision.state.generation,
            }
        raise AssertionError("unreachable")

    async def _pass_progress(self, state: EncryptionState) -> ReencryptProgress | None:
        assert state.job is not None
        ckpt, _ = await load_checkpoint(self._c.datastore)
        if ckpt is not None and ckpt.config_hash == state.job.config_hash:
            return ckpt.progress()
        return None

    async def _progress_text(self, state: EncryptionState) -> str:
        p = await self._pass_progress(state)
        return f"{p.done}/{p.total} values done" if p else "starting"
