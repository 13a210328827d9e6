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
5. run the re-encryption pass as a background task
   (:class:`~kcrypt.encryption.job.PassJob`); when it ends, apply the key
   removal (only after a scan proves no value uses the key), record the
   stage the command promised, and call ``on_key_removed`` (the server
   compacts the datastore's history there).

On several servers (``cluster=``, :mod:`kcrypt.encryption.ha`) the same steps
hold, plus: step 3-4 go through :class:`~kcrypt.encryption.config_sync.ConfigSync`
(which refuses to overwrite a hand-edited file) and publish this server's
record; every other server follows the state record by watching it
(:meth:`EncryptionService.follow`); commands refuse while servers disagree
(k3s's ``hash does not match`` -- a down server counts -- unless ``--force``);
the pass runs on the elected server only, and only once every live server
applied its config; ``rotate-keys`` first adds the new key reading-only and
the runner promotes it to write key once every live server can read it
(:mod:`kcrypt.encryption.rollout`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from kcrypt.datastore.contract import Datastore
from kcrypt.encryption.config_sync import ConfigSync
from kcrypt.encryption.configjson import (
    config_sha256,
    parse_config,
    redacted_json,
    render_config,
    transformer_for,
)
from kcrypt.encryption.errors import ReencryptInProgress, StateConflict
from kcrypt.encryption.ha import ClusterMember, watch_key
from kcrypt.encryption.job import PassJob
from kcrypt.encryption.model import EncryptionState, KeyProvider, ReencryptJob
from kcrypt.encryption.model import ReencryptProgress as Progress
from kcrypt.encryption.reencrypt import load_checkpoint
from kcrypt.encryption.rollout import staged_config
from kcrypt.encryption.stages import Command, Stage, parse_request
from kcrypt.encryption.statestore import Sealer, StateStore
from kcrypt.encryption.status import progress_document, status_document
from kcrypt.encryption.transitions import KeyFactory, plan

__all__ = ["ApplyConfig", "EncryptionService", "transformer_for"]

log = logging.getLogger("kcrypt.encryption")

ApplyConfig = Callable[[bytes], Awaitable[None] | None]


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
        on_key_removed: Callable[[], Awaitable[None]] | None = None,
        cluster: ClusterMember | None = None,
        generated: bool = False,
    ) -> None:
        self._ds = datastore
        self._store = StateStore(datastore, sealer=sealer)
        self.cluster = cluster
        self._sync = ConfigSync(
            config_path,
            apply_config=apply_config,
            publisher=cluster.publisher if cluster else None,
            generated=generated,
        )
        self.config_path = config_path
        self.node_name = node_name
        self.provider: KeyProvider = provider
        self._apply_config = apply_config
        self.prefix = prefix
        self.page_size = page_size
        self._make_key = make_key
        self._lock = asyncio.Lock()
        self._job: PassJob | None = None
        self._progress: Progress | None = None
        self._progress_hook = on_progress
        self._key_removed_hook = on_key_removed

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Align the local file and live config with the datastore; resume a pending pass.

        With no state record yet, the local file (if any) becomes the state at
        stage ``start`` (k3s's upgrade path: ``start-<hash>``).
        """
        async with self._lock:
            await self._sync.begin(live_hash=None)
            if self.cluster is not None:
                others = [v for v in await self.cluster.servers() if v.node != self.node_name]
                self._sync.alone = not others
            state, rev = await self._store.load()
            if state is None:
                data = self._read_file()
                if data is None:
                    if self.cluster is not None:
                        await self.cluster.publisher.publish()
                    return
                parse_config(data)
                state = EncryptionState(data, Stage.START, config_sha256(data), self.provider)
                try:
                    await self._store.save(state, mod_revision=rev)
                except StateConflict:  # another server created it first: join that one
                    state, rev = await self._store.load()
                    assert state is not None
            await self._sync.converge(state)
            if state.job is not None:
                self._spawn(state)

    async def follow(self) -> None:
        """Converge on every change of the state record (and every poll) until cancelled."""
        interval = self.cluster.poll_interval if self.cluster else 1.0
        log.info(
            "watching %s through the datastore's encryption state (checked every %.1fs too)",
            self.config_path,
            interval,
        )
        await watch_key(self._ds, self._store.key, self.sync, interval=interval)

    async def sync(self) -> None:
        """One convergence step: apply the datastore's state here; campaign for its pass."""
        async with self._lock:
            state, _ = await self._store.load()
            if state is None:
                return
            if self._sync.applied_hash != state.config_hash or self._sync.conflict:
                await self._sync.converge(state)
            elif (found := self._sync.file_hash()) != state.config_hash and found is not None:
                # A hand edit (a conflict with other servers listed); a deleted file
                # is written again on the next change of the state, or at restart.
                if self.cluster is not None:
                    others = [v for v in await self.cluster.servers() if v.node != self.node_name]
                    self._sync.alone = not others
                await self._sync.converge(state)  # the file changed: conflict or restore
            elif self.cluster is not None:
                record = self.cluster.publisher.record
                if (record.stage, record.generation) != (state.stage.value, state.generation):
                    await self._sync.converge(state)
            if state.job is not None and not state.job.error and not self.running:
                self._spawn(state)

    async def close(self) -> None:
        """Cancel a running pass (it resumes from its checkpoint on the next start)."""
        job, self._job = self._job, None
        if job is not None:
            await job.cancel()

    @property
    def conflict(self) -> str:
        """Why this server does not apply the datastore's config ("" when it does)."""
        return self._sync.conflict

    async def wait_idle(self) -> None:
        """Wait until no pass runs (tests and ``--wait`` style callers)."""
        while self._job is not None and self._job.running:
            await self._job.wait()

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

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
            running = self.running or (self.cluster is not None and not state.job.error)
            if current is not None or running:
                progress = progress_document(
                    current or Progress(total=0), running=running, error=state.job.error
                )
        if self.cluster is None:
            return status_document(
                parse_config(state.config),
                state.stage.value,
                annotations=self._annotations(state),
                progress=progress,
            )
        view = await self.cluster.view(state.config_hash)
        return status_document(
            parse_config(state.config),
            state.stage.value,
            annotations={},
            hash_error=view.hash_error,
            progress=progress,
            servers=view.rows,
            config_hash=state.config_hash,
        )

    async def apply(self, request: Mapping[str, object]) -> dict[str, Any]:
        """Run one k3s ``EncryptionRequest``; returns ``{"message": ...}`` (or the dry run).

        Raises :class:`EncryptionError` subclasses with the real reason.
        """
        req = parse_request(request)
        async with self._lock:
            if self.running and self.cluster is None:
                raise ReencryptInProgress(self._progress_text())
            state, rev = await self._store.load()
            if (
                self.cluster is not None
                and state is not None
                and state.job is not None
                and not state.job.error
            ):
                raise ReencryptInProgress(self._progress_text())
            hash_error = None
            if self.cluster is not None and state is not None:
                hash_error = (await self.cluster.convergence(state.config_hash)).hash_error
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
                hash_error=hash_error,
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
            final = outcome.config
            promote = self.cluster is not None and req.command is Command.ROTATE_KEYS
            if promote:  # HA: the new key is readable everywhere before it writes
                key = outcome.config.keys_of(self.provider)[0]
                final = staged_config(config, self.provider, key)
            data = render_config(final) if outcome.changed or state is None else state.config
            transformer_for(data)  # refuse a config kube-apiserver would refuse, before saving
            digest = config_sha256(data)
            job = None
            if outcome.reencrypt:
                job = ReencryptJob(
                    digest,
                    outcome.remove_key,
                    outcome.after_stage,
                    time.time(),
                    promote=promote,
                )
            new_state = EncryptionState(
                data,
                outcome.stage,
                digest,
                self.provider,
                job,
                (state.generation + 1) if state else 1,
            )
            await self._store.save(new_state, mod_revision=rev)
            await self._sync.converge(new_state)
            if job is not None:
                self._progress = None
                self._spawn(new_state)
            return {"message": outcome.message, "configHash": digest}

    # -- the pass --------------------------------------------------------------------------

    def _spawn(self, state: EncryptionState) -> None:
        self._job = PassJob(
            state,
            datastore=self._ds,
            store=self._store,
            sync=self._sync,
            lock=self._lock,
            node_name=self.node_name,
            provider=self.provider,
            prefix=self.prefix,
            page_size=self.page_size,
            on_progress=self._on_progress,
            on_key_removed=self._key_removed_hook,
            cluster=self.cluster,
        )

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
