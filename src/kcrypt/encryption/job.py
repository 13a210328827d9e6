"""The background re-encryption job of one state record, from start to its end.

:class:`~kcrypt.encryption.service.EncryptionService` saves a state whose
``job`` asks for a pass and starts a :class:`PassJob` for it (and again after
a restart: the pass resumes from its checkpoint). The job

* on one server: runs the pass at once;
* on several (``cluster``): campaigns for the single runner, waits until
  every live server applied the job's config, first promotes a key that
  ``rotate-keys`` added reading-only (:mod:`kcrypt.encryption.rollout`),
  then runs the pass -- deciding from the stored facts every round;
* at the end applies the key removal the command asked for, only after the
  safety scan proves no stored value uses that key
  (:mod:`kcrypt.encryption.safety`), and records the promised stage; a pass
  that stops records its error in the state instead (old keys kept);
* after a key removal was saved, calls ``on_key_removed`` (the server
  compacts the datastore's history there, so the old key's ciphertexts leave
  the stored revisions at once instead of after two periodic compactions;
  this layer does not import the server, hence the callback).

Every state change is compared (``mod_revision``) and made under the
service's lock, so a command that superseded the job wins and the job's end
is then a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from kcrypt.datastore.contract import Datastore
from kcrypt.encryption.config_sync import ConfigSync
from kcrypt.encryption.configjson import config_sha256, parse_config, render_config, transformer_for
from kcrypt.encryption.errors import EncryptionError
from kcrypt.encryption.ha import ClusterMember
from kcrypt.encryption.model import EncryptionState, KeyProvider, ReencryptJob
from kcrypt.encryption.model import ReencryptProgress as Progress
from kcrypt.encryption.reencrypt import CHECKPOINT_KEY, Reencryptor
from kcrypt.encryption.rollout import promoted_state
from kcrypt.encryption.safety import check_removable, scan_key_usage
from kcrypt.encryption.statestore import StateStore
from kcrypt.encryption.transitions import removal

__all__ = ["PassJob"]

log = logging.getLogger("kcrypt.encryption")


class PassJob:
    """The task running ``state``'s job; see the module docstring."""

    def __init__(
        self,
        state: EncryptionState,
        *,
        datastore: Datastore,
        store: StateStore,
        sync: ConfigSync,
        lock: asyncio.Lock,
        node_name: str,
        provider: KeyProvider,
        prefix: str,
        page_size: int,
        on_progress: Callable[[Progress], None],
        on_key_removed: Callable[[], Awaitable[None]] | None = None,
        cluster: ClusterMember | None = None,
    ) -> None:
        self._ds = datastore
        self._store = store
        self._sync = sync
        self._lock = lock
        self._node_name = node_name
        self._provider: KeyProvider = provider
        self._prefix = prefix
        self._page_size = page_size
        self._on_progress = on_progress
        self._on_key_removed = on_key_removed
        self._cluster = cluster
        self._task = asyncio.create_task(self._run(state), name="kcrypt-reencrypt")

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def wait(self) -> None:
        """Until the job ends (its errors are recorded in the state, not raised)."""
        await asyncio.gather(self._task, return_exceptions=True)

    async def cancel(self) -> None:
        """Stop the job; the pass resumes from its checkpoint on the next start."""
        if not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, state: EncryptionState) -> None:
        if self._cluster is None:
            await self._pass(state)
            return
        try:
            await self._cluster.run_exclusive(self._lead)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("re-encryption runner stopped: %s", exc)

    async def _lead(self) -> None:
        """The elected server's loop: gate, promote, pass; from facts every round."""
        assert self._cluster is not None
        while True:
            state, rev = await self._store.load()
            if state is None or state.job is None or state.job.error:
                return
            job = state.job
            log.info(
                "%s runs the re-encryption of config %s", self._node_name, job.config_hash[:12]
            )
            await self._cluster.wait_converged(job.config_hash)
            if not job.promote:
                await self._pass(state)
                return
            async with self._lock:
                fresh, rev = await self._store.load()
                if fresh != state:
                    continue
                new = promoted_state(state, self._provider)
                await self._store.save(new, mod_revision=rev)
                log.info("every live server reads the new key: it now writes (%s)", new.config_hash)
                await self._sync.converge(new)

    async def _pass(self, state: EncryptionState) -> None:
        job = state.job
        assert job is not None
        engine = Reencryptor(
            self._ds,
            transformer_for(state.config),
            config_hash=job.config_hash,
            prefix=self._prefix,
            page_size=self._page_size,
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
            removed = await self._finish(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("re-encryption stopped: %s", exc)
            await self._record_error(job, str(exc))
            return
        if removed:
            await self._key_removed()

    async def _finish(self, job: ReencryptJob) -> bool:
        """Record the job's end; True when that removed a key."""
        async with self._lock:
            state, rev = await self._store.load()
            if state is None or state.job is None or state.job.config_hash != job.config_hash:
                return False  # superseded by a newer command
            data = state.config
            removed = False
            if job.remove_key:
                config = parse_config(state.config)
                outcome = removal(config, provider=self._provider)
                log.info("%s", outcome.message)
                if outcome.removed:
                    names = [k.name for _, k in config.all_keys()]
                    usage = await scan_key_usage(self._ds, self._prefix, known_names=names)
                    check_removable(usage, outcome.removed, prefix=self._prefix)
                    data = render_config(outcome.config)
                    removed = True
            new = replace(
                state,
                config=data,
                config_hash=config_sha256(data),
                stage=job.after_stage,
                job=None,
                generation=state.generation + 1,
            )
            await self._store.save(new, mod_revision=rev)
            await self._sync.converge(new)
            return removed

    async def _key_removed(self) -> None:
        """Outside the lock: the hook may take a while and commands wait for none of it.
        Its failure changes nothing stored (the removal is saved), so it is logged only."""
        if self._on_key_removed is None:
            return
        try:
            await self._on_key_removed()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("after removing the old key: %s", exc)

    async def _record_error(self, job: ReencryptJob, error: str) -> None:
        async with self._lock:
            state, rev = await self._store.load()
            if state is None or state.job is None or state.job.config_hash != job.config_hash:
                return
            new = replace(
                state, job=replace(state.job, error=error), generation=state.generation + 1
            )
            await self._store.save(new, mod_revision=rev)
