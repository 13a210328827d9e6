"""The controller's runner: load the facts, take one step, repeat.

Every server runs one :class:`Controller`. It wakes on a change of the state
record or of a server record (a watch), on its poll interval, at a scheduled
rotation's time and when a command was saved; then it loads the facts
(:meth:`Controller.facts`), asks :func:`~kcrypt.encryption.steps.next_step`
and acts:

* ``apply`` (rule 2) runs on every server: local file, live transformers,
  this server's record;
* an *acting* step (rotate, promote, pass, scan, remove-key, record-error,
  compact, finish) runs on the elected server only: the controller
  campaigns (:class:`~kcrypt.encryption.hooks.Elector`) and, once elected,
  loops -- facts, step, act -- until no acting step is left, then resigns.
  Losing the lease cancels the step; the pass resumes from its checkpoint
  wherever the next one is elected.

Each acting step saves at most one new state, compared on the revision its
facts were loaded at (:mod:`kcrypt.encryption.executor`); a lost race is
not an error, the next round decides again. Any other failure is logged with
its traceback once, stored as the step's reason (``retrying-after-error``)
and retried with exponential backoff. The step being taken (or waited on)
is stored under ``/kcrypt/encryption/controller`` when it changes, which is
what ``status`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kcrypt.datastore.contract import Datastore
from kcrypt.encryption import reasons
from kcrypt.encryption.config_sync import ConfigSync
from kcrypt.encryption.errors import StateConflict
from kcrypt.encryption.executor import Executor
from kcrypt.encryption.hooks import ControllerHooks
from kcrypt.encryption.model import EncryptionState, KeyProvider
from kcrypt.encryption.publisher import ServerPublisher, list_servers
from kcrypt.encryption.reencrypt import load_checkpoint
from kcrypt.encryption.servers import LIVE_PREFIX, SERVERS_PREFIX
from kcrypt.encryption.snapshots import SnapshotCache
from kcrypt.encryption.statestore import StateStore
from kcrypt.encryption.steprecord import CONTROLLER_KEY, StepRecorder
from kcrypt.encryption.steps import Action, Facts, LocalFacts, Step, next_step

__all__ = ["Controller", "ControllerSettings"]

log = logging.getLogger("kcrypt.encryption")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerSettings:
    node: str
    provider: KeyProvider
    config_path: Path
    poll_interval: float = 1.0
    page_size: int = 1000
    rotation_interval: float = 0.0
    compaction: bool = True
    generated: bool = False
    backoff: tuple[float, float] = (0.5, 30.0)
    """First and longest wait between retries of a failing step."""


class Controller:
    """One server's encryption controller (see the module docstring)."""

    def __init__(
        self,
        datastore: Datastore,
        *,
        store: StateStore,
        publisher: ServerPublisher,
        hooks: ControllerHooks,
        settings: ControllerSettings,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._ds = datastore
        self._store = store
        self.settings = settings
        self.publisher = publisher
        self._hooks = hooks
        self._clock = clock
        self._sleep = sleep
        self.snapshots = SnapshotCache(hooks.build_snapshot, source=settings.config_path)
        self.sync = ConfigSync(
            settings.config_path,
            apply_config=hooks.apply_config,
            publisher=publisher,
            generated=settings.generated,
        )
        self.recorder = StepRecorder(datastore, node=settings.node, clock=clock)
        self.executor = Executor(
            datastore,
            store=store,
            hooks=hooks,
            snapshots=self.snapshots,
            settings=settings,
            clock=clock,
        )
        self._wake = asyncio.Event()
        self._settled = asyncio.Condition()
        self._rounds = 0
        self._last: Step | None = None
        self._apply_lock = asyncio.Lock()
        self._leader: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def datastore(self) -> Datastore:
        return self._ds

    @property
    def store(self) -> StateStore:
        return self._store

    # -- facts -----------------------------------------------------------------------------

    async def facts(self) -> tuple[Facts, int]:
        """The facts :func:`next_step` decides from, and the state's revision."""
        state, rev = await self._store.load()
        servers = tuple(await list_servers(self._ds))
        self.sync.alone = not any(v.node != self.settings.node for v in servers)
        checkpoint, _ = await load_checkpoint(self._ds) if state and state.job else (None, 0)
        keys = self.snapshots.get(state.config).keys if state is not None else None
        record = self.publisher.record
        local = LocalFacts(
            node=self.settings.node,
            applied_hash=self.sync.applied_hash,
            published=(record.stage, record.generation),
            conflict=self._local_conflict(state),
        )
        facts = Facts(
            state=state,
            keys=keys,
            local=local,
            servers=servers,
            checkpoint=checkpoint,
            proof=self.executor.proof,
            now=self._clock(),
            rotation_interval=self.settings.rotation_interval,
            compaction=self.settings.compaction,
        )
        return facts, rev

    def _local_conflict(self, state: EncryptionState | None) -> str:
        """A hand-edited file is a conflict until the file is put right (deleted or restored)."""
        if state is None or not self.sync.conflict:
            return ""
        found = self.sync.file_hash()
        return "" if found in (None, state.config_hash) else self.sync.conflict

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Before the server listens: adopt a local file as the state if there is none,
        and run this server's ``apply`` so it serves the cluster's config."""
        await self.sync.begin()
        state, rev = await self._store.load()
        if state is None and (data := self.read_file()) is not None:
            with contextlib.suppress(StateConflict):  # another server created it first
                await self.executor.adopt_file(data, revision=rev)
        _, facts, _ = await self.apply_if_needed()
        if facts.state is None:
            await self.publisher.publish()  # listed (and live) before any config exists
        self._tasks.append(asyncio.create_task(self.publisher.run(), name="kcrypt-record"))

    def run(self) -> asyncio.Task[None]:
        """Start the loop and the watch (until :meth:`close`)."""
        log.info(
            "watching %s through the datastore's encryption state (checked every %.1fs too)",
            self.settings.config_path,
            self.settings.poll_interval,
        )
        self._tasks.append(asyncio.create_task(self._watch(), name="kcrypt-watch"))
        task = asyncio.create_task(self._loop(), name="kcrypt-controller")
        self._tasks.append(task)
        return task

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        """Cancel everything (a pass resumes from its checkpoint on the next start)."""
        tasks = [*self._tasks, *([self._leader] if self._leader else [])]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self._leader = None
        await self.publisher.close()

    async def settle(self) -> Step:
        """Until a step decided after this call needs no acting and no server is
        acting for this one (tests, and callers that wait for a command's end)."""
        start = self._rounds
        self.wake()

        def settled() -> bool:
            last = self._last
            return self._rounds > start and last is not None and not last.acts

        async with self._settled:
            await self._settled.wait_for(lambda: settled() and not self.campaigning)
        assert self._last is not None
        return self._last

    async def _decided(self, step: Step) -> None:
        async with self._settled:
            self._last = step
            self._rounds += 1
            self._settled.notify_all()

    @property
    def campaigning(self) -> bool:
        """This server leads, or waits to be elected, for the acting steps."""
        return self._leader is not None and not self._leader.done()

    # -- the loop --------------------------------------------------------------------------

    async def apply_if_needed(self) -> tuple[Step, Facts, int]:
        """Take local steps until none is left; returns the next step with its facts."""
        while True:
            facts, rev = await self.facts()
            step = next_step(facts)
            if step.action is not Action.APPLY:
                return step, facts, rev
            async with self._apply_lock:
                assert facts.state is not None
                built = self.snapshots.get(facts.state.config)
                await self.sync.converge(facts.state, built.snapshot)

    async def _loop(self) -> None:
        while True:
            wake_at = 0.0
            try:
                step, _, _ = await self.apply_if_needed()
                wake_at = step.wake_at
                if step.acts and not self.campaigning:
                    self._leader = asyncio.create_task(self._lead(), name="kcrypt-leader")
                elif not step.acts and not self.campaigning:
                    await self.recorder.record(step)
                await self._decided(step)
            except asyncio.CancelledError:
                raise
            except Exception:  # the datastore may be away: the next wake tries again
                log.exception("encryption controller: a sync failed")
            await self._wait(wake_at)

    async def _wait(self, wake_at: float) -> None:
        timeout = self.settings.poll_interval
        if wake_at:
            timeout = max(0.0, min(timeout, wake_at - self._clock()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        self._wake.clear()

    async def _lead(self) -> None:
        try:
            await self._hooks.elector.run_as_leader(self._act)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # leadership lost: the step was cancelled, others take over
            log.warning("%s stopped leading the encryption controller: %s", self.settings.node, exc)
        finally:
            self.wake()

    async def _act(self) -> None:
        """The elected server's rounds: facts, step, act -- until nothing acts."""
        delay, longest = self.settings.backoff
        last_error = ""
        while True:
            step, facts, rev = await self.apply_if_needed()
            if not step.acts:
                await self.recorder.record(step)
                return
            await self.recorder.record(step)
            try:
                await self.executor.run(step, facts, revision=rev)
            except StateConflict:
                continue  # someone saved first: decide again from the new facts
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                text = f"{step.action.value} failed: {exc}"
                if text != last_error:
                    log.exception("encryption controller: %s", text)
                    last_error = text
                retry = Step(action=Action.WAIT, reason=reasons.RETRYING, message=text)
                await self.recorder.record(retry)
                await self._sleep(delay)
                delay = min(delay * 2, longest)
                continue
            delay, last_error = self.settings.backoff[0], ""

    async def _watch(self) -> None:
        """Wake on changes of the state record and of server records and liveness."""
        while True:
            try:
                revision = await self._ds.revision()
                async for event in self._ds.watch("/kcrypt/", start_revision=revision + 1):
                    key = event.kv.key
                    if key == CONTROLLER_KEY:
                        self.recorder.forget()
                    elif key == self._store.key or key.startswith((SERVERS_PREFIX, LIVE_PREFIX)):
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watch on /kcrypt/ broke (%s); watching again", exc)
                self.wake()
                await self._sleep(self.settings.poll_interval)

    def read_file(self) -> bytes | None:
        try:
            data = self.settings.config_path.read_bytes()
        except FileNotFoundError:
            return None
        return data or None
