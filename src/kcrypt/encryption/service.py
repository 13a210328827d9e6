"""The supervisor's request handlers: ``status()`` and ``apply(request)``.

The server mounts two routes on an :class:`EncryptionService`::

    GET /v1-kcrypt/encrypt/status  -> 200 JSON await service.status()
    PUT /v1-kcrypt/encrypt/config  -> 200 JSON await service.apply(body)
                                      (EncryptionError -> exc.code + exc message)

Every accepted command follows the same order, so a crash at any point
leaves a state a restart can finish (:meth:`EncryptionService.start`):

1. compute the outcome with the pure :func:`~kcrypt.encryption.transitions.plan`;
2. persist config + stage (+ the pass it asks for) in the datastore with
   compare-and-swap -- *before* any value is rewritten (k3s #13763);
3. write the local config file atomically, 0600;
4. call ``apply_config(bytes)``: the server swaps its live transformers;
5. run the re-encryption pass as a background task; when it ends, apply the
   key removal (only after a scan proves no value uses the key) and record
   the stage the command promised.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kcrypt.config import ConfigError, build_transformers, load
from kcrypt.datastore.contract import Datastore
from kcrypt.encryption.configjson import config_sha256, parse_config, redacted_json, render_config
from kcrypt.encryption.errors import EncryptionError, ReencryptInProgress
from kcrypt.encryption.files import write_atomic
from kcrypt.encryption.model import EncryptionState, KeyConfig, KeyProvider, ReencryptJob
from kcrypt.encryption.model import ReencryptProgress as Progress
from kcrypt.encryption.reencrypt import CHECKPOINT_KEY, Reencryptor, load_checkpoint
from kcrypt.encryption.safety import check_removable, key_prefix, scan_key_usage
from kcrypt.encryption.stages import Stage, parse_request
from kcrypt.encryption.statestore import Sealer, StateStore
from kcrypt.encryption.status import progress_document, status_document
from kcrypt.encryption.transitions import KeyFactory, plan, removal
from kcrypt.envelope import Transformer

__all__ = ["ApplyConfig", "EncryptionService", "transformer_for"]

log = logging.getLogger("kcrypt.encryption")

ApplyConfig = Callable[[bytes], Awaitable[None] | None]


def transformer_for(config: bytes) -> Transformer:
    """The ``secrets`` transformer of ``config``, validated by kube-apiserver's rules."""
    try:
        return build_transformers(load(config).config).for_resource("secrets")
    except ConfigError as exc:
        raise EncryptionError(f"invalid encryption configuration: {exc}") from None


class EncryptionService:
    """k3s's ``secrets-encrypt`` server side over one datastore (single server)."""

    def __init__(
        self,
        datastore: Datastore,
        *,
        config_path: Path,
        node_name: str,
        provider: KeyProvider = "aescbc",
        apply_config: ApplyConfig,
        prefix: str = "/registry/secrets/",
        page_size: int = 1000,
        sealer: Sealer | None = None,
        make_key: KeyFactory | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self._ds = datastore
        self._store = StateStore(datastore, sealer=sealer)
        self.config_path = config_path
        self.node_name = node_name
        self.provider: KeyProvider = provider
        self._apply_config = apply_config
        self.prefix = prefix
        self.page_size = page_size
        self._make_key = make_key
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._progress: Progress | None = None
        self._progress_hook = on_progress

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Align the local file and live config with the datastore; resume a pending pass.

        With no state record yet, the local file (if any) becomes the state at
        stage ``start`` (k3s's upgrade path: ``start-<hash>``).
        """
        async with self._lock:
            state, rev = await self._store.load()
            if state is None:
                data = self._read_file()
                if data is None:
                    return
                parse_config(data)
                state = EncryptionState(data, Stage.START, config_sha256(data), self.provider)
                await self._store.save(state, mod_revision=rev)
            elif self._read_file() != state.config:
                self._write_file(state.config)
            await self._apply(state.config)
            if state.job is not None:
                self._spawn(state)

    async def close(self) -> None:
        """Cancel a running pass (it resumes from its checkpoint on the next start)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Wait until no pass runs (tests and ``--wait`` style callers)."""
        while self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def progress(self) -> Progress | None:
        return self._progress

    # -- handlers --------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """k3s's ``EncryptionState`` JSON (+ ``reencrypt`` progress while a pass is known)."""
        state, _ = await self._store.load()
        if state is None:
            data = self._read_file()
            if data is None:
                return status_document(None, "", annotations={})
            state = EncryptionState(data, Stage.START, config_sha256(data), self.provider)
        progress: dict[str, Any] | None = None
        if state.job is not None:
            current = self._progress
            if current is None:
                ckpt, _ = await load_checkpoint(self._ds)
                if ckpt is not None and ckpt.config_hash == state.job.config_hash:
                    current = ckpt.progress()
            if current is not None or self.running:
                progress = progress_document(
                    current or Progress(total=0), running=self.running, error=state.job.error
                )
        return status_document(
            parse_config(state.config),
            state.stage.value,
            annotations=self._annotations(state),
            progress=progress,
        )

    async def apply(self, request: Mapping[str, object]) -> dict[str, Any]:
        """Run one k3s ``EncryptionRequest``; returns ``{"message": ...}`` (or the dry run).

        Raises :class:`EncryptionError` subclasses with the real reason.
        """
        req = parse_request(request)
        async with self._lock:
            if self.running:
                raise ReencryptInProgress(self._progress_text())
            state, rev = await self._store.load()
            if state is None and (data := self._read_file()) is not None:
                state = EncryptionState(data, Stage.START, config_sha256(data), self.provider)
            config = parse_config(state.config) if state else None
            stage = state.stage if state else Stage.START
            previous = None
            if state is not None and state.job is not None and stage is Stage.REENCRYPT_ACTIVE:
                previous = Stage.ROTATE if state.job.remove_key else state.job.after_stage
            kwargs = {"make_key": self._make_key} if self._make_key else {}
            outcome = plan(
                config,
                stage,
                req,
                provider=self.provider,
                node=self.node_name,
                hash_error=None,
                previous_stage=previous,
                **kwargs,
            )
            if req.dry_run:
                return {
                    "dryRun": True,
                    "stage": outcome.stage.value,
                    "reencrypt": outcome.reencrypt,
                    "message": outcome.message,
                    "config": redacted_json(outcome.config),
                }
            log.info("%s", outcome.message)
            if not outcome.changed and not outcome.reencrypt:
                return {"message": outcome.message}
            data = (
                render_config(outcome.config) if outcome.changed or state is None else state.config
            )
            transformer_for(data)  # refuse a config kube-apiserver would refuse, before saving
            digest = config_sha256(data)
            job = None
            if outcome.reencrypt:
                job = ReencryptJob(digest, outcome.remove_key, outcome.after_stage, time.time())
            new_state = EncryptionState(
                data,
                outcome.stage,
                digest,
                self.provider,
                job,
                (state.generation + 1) if state else 1,
            )
            await self._store.save(new_state, mod_revision=rev)
            self._write_file(data)
            await self._apply(data)
            if job is not None:
                self._progress = None
                self._spawn(new_state)
            return {"message": outcome.message}

    # -- the pass --------------------------------------------------------------------------

    def _spawn(self, state: EncryptionState) -> None:
        self._task = asyncio.create_task(self._run(state), name="kcrypt-reencrypt")

    async def _run(self, state: EncryptionState) -> None:
        job = state.job
        assert job is not None
        engine = Reencryptor(
            self._ds,
            transformer_for(state.config),
            config_hash=job.config_hash,
            prefix=self.prefix,
            page_size=self.page_size,
            on_progress=self._on_progress,
            checkpoint_key=CHECKPOINT_KEY,
        )
        try:
            result = await engine.run(resume=True)
            if result.failed:
                raise EncryptionError(
                    f"{result.failed} values could not be read (first: {engine.first_error}); "
                    "old keys kept"
                )
            await self._finish(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("re-encryption stopped: %s", exc)
            await self._record_error(job, str(exc))

    async def _finish(self, job: ReencryptJob) -> None:
        async with self._lock:
            state, rev = await self._store.load()
            if state is None or state.job is None or state.job.config_hash != job.config_hash:
                return  # superseded by a newer command
            data = state.config
            if job.remove_key:
                config = parse_config(state.config)
                outcome = removal(config, provider=self.provider)
                log.info("%s", outcome.message)
                if outcome.removed:
                    usage = await scan_key_usage(self._ds, self.prefix, known=_key_prefixes(config))
                    check_removable(usage, outcome.removed, prefix=self.prefix)
                    data = render_config(outcome.config)
            new = replace(
                state,
                config=data,
                config_hash=config_sha256(data),
                stage=job.after_stage,
                job=None,
                generation=state.generation + 1,
            )
            await self._store.save(new, mod_revision=rev)
            if data != state.config:
                self._write_file(data)
                await self._apply(data)

    async def _record_error(self, job: ReencryptJob, error: str) -> None:
        async with self._lock:
            state, rev = await self._store.load()
            if state is None or state.job is None or state.job.config_hash != job.config_hash:
                return
            new = replace(
                state, job=replace(state.job, error=error), generation=state.generation + 1
            )
            await self._store.save(new, mod_revision=rev)

    def _on_progress(self, progress: Progress) -> None:
        self._progress = progress
        if self._progress_hook is not None:
            self._progress_hook(progress)  # the server's logs and metrics

    def _progress_text(self) -> str:
        p = self._progress
        return f"{p.done}/{p.total} secrets done" if p else "starting"

    # -- edges -----------------------------------------------------------------------------

    def _annotations(self, state: EncryptionState) -> dict[str, str]:
        """k3s's per-server ``<stage>-<hash>``; one server here (HA adds one per record)."""
        return {self.node_name: f"{state.stage.value}-{state.config_hash}"}

    def _read_file(self) -> bytes | None:
        try:
            data = self.config_path.read_bytes()
        except FileNotFoundError:
            return None
        return data or None

    def _write_file(self, data: bytes) -> None:
        write_atomic(self.config_path, data)

    async def _apply(self, data: bytes) -> None:
        result = self._apply_config(data)
        if inspect.isawaitable(result):
            await result


def _key_prefixes(config: KeyConfig) -> list[str]:
    return [key_prefix(kind, k.name) for kind, k in config.all_keys()]
