"""The re-encryption engine: every stored value under the write key, fast and resumable.

It works on raw datastore values; objects are never decoded. A pass covers
one or more :class:`Target` s -- a storage prefix such as
``/registry/secrets/`` with its resource's transformer and write prefix --
one after the other. For each page of keys under a prefix (``range`` with
``start_after`` + ``limit``):

1. read each value with the resource's transformer (``from_storage``);
2. a value already under the write key (not ``stale`` and read under the
   write prefix; identity reads count as stale unless identity writes) is left
   alone; every other value is ``to_storage``'d again;
3. the rewrites go out in one ``txn_put``, each compared on the value's
   ``mod_revision``: a failed compare means a writer changed (or deleted) the
   value since we read it, and a writer already used the write key, so the
   value is skipped, never overwritten;
4. a checkpoint (:mod:`kcrypt.encryption.checkpoint`: position, counts, the
   revisions of the pass's own writes) is written with compare-and-swap.

A KMS plugin that stops answering (:class:`~kcrypt.envelope.KMSUnavailable`)
pauses the pass: the page is transformed again after a back-off (1 s, doubling
to 30 s) until the plugin is back, so no value is counted unreadable or
skipped because of an outage. Values whose transformation must wait for the
plugin (:class:`~kcrypt.envelope.WouldBlock`) are transformed on a worker
thread, never on the event loop.

The next page is read, and transformed, while the current one is written
and checkpointed (its fsync runs in the datastore's thread, off the loop). A
pass started again with the same config hash resumes after the checkpoint's
key. A cancel (``asyncio`` cancellation, a SIGKILL) at any point leaves every
value either old-and-readable or new: the checkpoint only moves after its
page's rewrites are durable, and a rewrite redone after a resume is a
compared no-op.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from kcrypt.datastore.contract import Datastore, Page, PutIf
from kcrypt.encryption.checkpoint import Checkpoint
from kcrypt.encryption.errors import ReencryptInProgress
from kcrypt.encryption.model import ReencryptProgress
from kcrypt.envelope import EnvelopeError, KMSUnavailable, ReadResult, Transformer, WouldBlock

__all__ = [
    "CHECKPOINT_KEY",
    "DEFAULT_PAGE_SIZE",
    "Reencryptor",
    "Target",
    "load_checkpoint",
]

log = logging.getLogger("kcrypt.encryption.reencrypt")

CHECKPOINT_KEY = "/kcrypt/reencrypt/checkpoint"
DEFAULT_PAGE_SIZE = 1000
TRANSFORM_SLICE = 100
PAUSE_FIRST = 1.0
PAUSE_MAX = 30.0
T = TypeVar("T")

ProgressCallback = Callable[[ReencryptProgress], None]


@dataclass(frozen=True, slots=True)
class Target:
    """One storage prefix of a pass and how its values are written."""

    prefix: str
    transformer: Transformer
    write_prefix: str


@dataclass(frozen=True, slots=True)
class _Counts:
    """Values of a page left alone: already under the write key, or unreadable."""

    current: int
    failed: int


async def load_checkpoint(
    datastore: Datastore, *, key: str = CHECKPOINT_KEY
) -> tuple[Checkpoint | None, int]:
    kv = await datastore.get(key)
    if kv is None:
        return None, 0
    return Checkpoint.decode(kv.value), kv.mod_revision


class Reencryptor:
    """One pass over ``targets``; see the module docstring."""

    def __init__(
        self,
        datastore: Datastore,
        targets: Sequence[Target],
        *,
        config_hash: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        on_progress: ProgressCallback | None = None,
        checkpoint_key: str = CHECKPOINT_KEY,
        clock: Callable[[], float] = time.monotonic,
        pause: tuple[float, float] = (PAUSE_FIRST, PAUSE_MAX),
    ) -> None:
        if not targets:
            raise ValueError("a pass needs at least one target")
        self._ds = datastore
        self._targets = tuple(targets)
        self.config_hash = config_hash
        self.page_size = page_size
        self._on_progress = on_progress
        self._ckpt_key = checkpoint_key
        self._clock = clock
        self._pause = pause
        self.first_error = ""
        """The first unreadable value's storage key and error (names only)."""

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(t.prefix for t in self._targets)

    async def run(self, *, resume: bool = True) -> Checkpoint:
        """Run (or resume) the pass to its end; returns the finished checkpoint."""
        saved, rev = await load_checkpoint(self._ds, key=self._ckpt_key)
        if (
            resume
            and saved is not None
            and not saved.finished
            and saved.config_hash == self.config_hash
            and saved.prefixes == self.prefixes
        ):
            ckpt = saved
            log.info("resuming re-encryption after %s (%d done)", ckpt.last_key, ckpt.done)
        else:
            start = await self._ds.revision()
            total = sum([await self._ds.count(p) for p in self.prefixes])
            ckpt = Checkpoint(
                config_hash=self.config_hash,
                prefixes=self.prefixes,
                prefix=self.prefixes[0],
                total=total,
                started=time.time(),
                start_revision=start,
            )
            rev = await self._save(ckpt, rev)
        t0, base = self._clock(), ckpt.elapsed
        self._report(ckpt)
        position = self.prefixes.index(ckpt.prefix)
        for target in self._targets[position:]:
            if target.prefix != ckpt.prefix:
                ckpt = replace(ckpt, prefix=target.prefix, last_key="")
            ckpt, rev = await self._run_target(target, ckpt, rev, t0=t0, base=base)
        ckpt = replace(ckpt, finished=True, total=ckpt.done, elapsed=base + self._clock() - t0)
        await self._save(ckpt, rev)
        self._report(ckpt)
        log.info(
            "re-encrypted %s: %d values, %d rewritten, %d skipped (written concurrently), "
            "%d unreadable, %.0f/s",
            ", ".join(self.prefixes),
            ckpt.done,
            ckpt.rewritten,
            ckpt.skipped,
            ckpt.failed,
            ckpt.progress().rate,
        )
        return ckpt

    async def _run_target(
        self, target: Target, ckpt: Checkpoint, rev: int, *, t0: float, base: float
    ) -> tuple[Checkpoint, int]:
        async def write(page: Page, puts: list[PutIf], counts: _Counts) -> None:
            nonlocal ckpt, rev
            result = await self._ds.txn_put(puts) if puts else None
            ok = sum(result.succeeded) if result else 0
            ckpt = replace(
                ckpt,
                last_key=page.kvs[-1].key,
                done=ckpt.done + len(page.kvs),
                rewritten=ckpt.rewritten + ok,
                current=ckpt.current + counts.current,
                skipped=ckpt.skipped + len(puts) - ok,
                failed=ckpt.failed + counts.failed,
                total=max(ckpt.total, ckpt.done + len(page.kvs)),
                elapsed=base + self._clock() - t0,
            )
            # ``rev`` (the state record's last write) is no value under the prefix;
            # recording it joins this page's range to the previous one, so the key-removal
            # proof checks one range per run of pages instead of one per page
            ckpt = ckpt.with_written([*(result.revisions if result else ()), rev])
            rev = await self._save(ckpt, rev)
            self._report(ckpt)

        # Three pages in flight: N+1 is read while N is decrypted/encrypted
        # while N-1 is written and checkpointed. Writes stay in page order, one
        # at a time: page N is written only after N-1's checkpoint is saved.
        pending: asyncio.Task[Page] | None = asyncio.ensure_future(
            self._read(target.prefix, ckpt.last_key or None)
        )
        writing: asyncio.Future[None] | None = None
        try:
            while pending is not None:
                page = await pending
                pending = None
                if page.more and page.kvs:
                    pending = asyncio.ensure_future(self._read(target.prefix, page.kvs[-1].key))
                if not page.kvs:
                    break
                puts, counts = await self._until_available(
                    target.prefix, page.kvs[0].key, functools.partial(self._transform, page, target)
                )
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(write(page, puts, counts))
            if writing is not None:
                await writing
        finally:
            for task in (pending, writing):
                if task is not None:  # a cancel, or a failure of the other one
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        return ckpt, rev

    async def _until_available(self, prefix: str, what: str, step: Callable[[], Awaitable[T]]) -> T:
        """``step()``, again after a growing pause while the KMS plugin is unavailable."""
        delay, paused = self._pause[0], False
        while True:
            try:
                result = await step()
            except KMSUnavailable as exc:
                if not paused:
                    log.warning(
                        "re-encryption of %s paused at %s: %s; retrying until the plugin "
                        "answers (nothing is skipped)",
                        prefix,
                        what,
                        exc,
                    )
                paused = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._pause[1])
                continue
            if paused:
                log.info("re-encryption of %s resumed at %s", prefix, what)
            return result

    async def _read(self, prefix: str, after: str | None) -> Page:
        return await self._ds.range(prefix, start_after=after, limit=self.page_size)

    async def _transform(self, page: Page, target: Target) -> tuple[list[PutIf], _Counts]:
        """The compared rewrites of one page (values not yet under the write key).

        Runs on the loop in slices, so that the previous page's write and
        checkpoint (their COMMITs run in a thread) move on between slices."""
        puts: list[PutIf] = []
        current = failed = 0
        tf, write_prefix = target.transformer, target.write_prefix
        from_storage, to_storage = tf.from_storage, tf.to_storage
        for i, kv in enumerate(page.kvs):
            if i and i % TRANSFORM_SLICE == 0:
                await asyncio.sleep(0)
            context = kv.key.encode()
            try:
                read = await _from_storage(from_storage, kv.value, context)
            except KMSUnavailable:
                raise
            except EnvelopeError as exc:
                failed += 1
                if not self.first_error:
                    self.first_error = f"{kv.key}: {exc}"
                log.warning("cannot read %s: %s", kv.key, exc)
                continue
            if not read.stale and read.prefix == write_prefix:
                current += 1
                continue
            value = await _to_storage(to_storage, read.plaintext, context)
            puts.append(PutIf(kv.key, value, kv.mod_revision, lease=kv.lease))
        return puts, _Counts(current, failed)

    async def _save(self, ckpt: Checkpoint, mod_revision: int) -> int:
        result = await self._ds.txn_put([PutIf(self._ckpt_key, ckpt.encode(), mod_revision)])
        if not result.succeeded[0]:
            raise ReencryptInProgress("the re-encryption checkpoint was changed by another runner")
        return result.revisions[0]

    def _report(self, ckpt: Checkpoint) -> None:
        if self._on_progress is not None:
            self._on_progress(ckpt.progress())


async def _from_storage(
    from_storage: Callable[..., ReadResult], data: bytes, context: bytes
) -> ReadResult:
    try:
        return from_storage(data, context=context)
    except WouldBlock:  # the plugin must be asked: off the loop
        return await asyncio.to_thread(from_storage, data, context=context)


async def _to_storage(to_storage: Callable[..., bytes], plaintext: bytes, context: bytes) -> bytes:
    try:
        return to_storage(plaintext, context=context)
    except WouldBlock:
        return await asyncio.to_thread(to_storage, plaintext, context=context)
