"""The re-encryption engine: every stored value under the write key, fast and resumable.

It works on raw datastore values; objects are never decoded. For each page
of keys under ``prefix`` (``range`` with ``start_after`` + ``limit``):

1. read each value with the resource's transformer (``from_storage``);
2. a value already under the write key (not ``stale`` and read under the
   write prefix; identity reads count as stale unless identity writes) is left
   alone; every other value is ``to_storage``'d again;
3. the rewrites go out in one ``txn_put``, each compared on the value's
   ``mod_revision``: a failed compare means a writer changed (or deleted) the
   value since we read it, and a writer already used the write key, so the
   value is skipped, never overwritten;
4. a checkpoint (last key done, counts, config hash, start time) is written
   under ``/kcrypt/reencrypt/checkpoint`` with compare-and-swap.

A KMS plugin that stops answering (:class:`~kcrypt.envelope.KMSUnavailable`)
pauses the pass: the page is transformed again after a back-off (1 s, doubling
to 30 s) until the plugin is back, so no value is counted unreadable or
skipped because of an outage. Values whose transformation must wait for the
plugin (:class:`~kcrypt.envelope.WouldBlock`) are transformed on a worker
thread, never on the event loop.

The next page is read, and transformed, while the current one is written
and checkpointed (its fsync runs in the datastore's thread, off the loop). A pass started
again with the same config hash resumes after the checkpoint's key. A cancel
(``asyncio`` cancellation, a SIGKILL) at any point leaves every value either
old-and-readable or new: the checkpoint only moves after its page's rewrites
are durable, and a rewrite redone after a resume is a compared no-op.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import TypeVar

from kcrypt.datastore.contract import Datastore, Page, PutIf
from kcrypt.encryption.errors import ReencryptInProgress
from kcrypt.encryption.model import ReencryptProgress
from kcrypt.envelope import (
    EnvelopeError,
    KMSUnavailable,
    ReadResult,
    Transformer,
    WouldBlock,
    parse_prefix,
)

__all__ = [
    "CHECKPOINT_KEY",
    "Checkpoint",
    "Reencryptor",
    "load_checkpoint",
    "reencrypt",
    "write_prefix_of",
]

log = logging.getLogger("kcrypt.encryption.reencrypt")

CHECKPOINT_KEY = "/kcrypt/reencrypt/checkpoint"
DEFAULT_PAGE_SIZE = 1000

TRANSFORM_SLICE = 100
PAUSE_FIRST = 1.0
PAUSE_MAX = 30.0

ProgressCallback = Callable[[ReencryptProgress], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Counts:
    """Values of a page left alone: already under the write key, or unreadable."""

    current: int
    failed: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What is persisted after each page (JSON, no values, no key material)."""

    config_hash: str
    prefix: str
    last_key: str
    total: int
    done: int
    rewritten: int
    current: int
    skipped: int
    failed: int
    started: float
    elapsed: float
    finished: bool = False

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint | None:
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError):
            return None

    def progress(self) -> ReencryptProgress:
        return ReencryptProgress(
            total=self.total,
            done=self.done,
            rewritten=self.rewritten,
            current=self.current,
            skipped=self.skipped,
            failed=self.failed,
            elapsed=self.elapsed,
            finished=self.finished,
            last_key=self.last_key,
        )


async def load_checkpoint(
    datastore: Datastore, *, key: str = CHECKPOINT_KEY
) -> tuple[Checkpoint | None, int]:
    kv = await datastore.get(key)
    if kv is None:
        return None, 0
    return Checkpoint.decode(kv.value), kv.mod_revision


def write_prefix_of(transformer: Transformer) -> str:
    """The envelope prefix new writes get (``""`` when the writer is identity)."""
    context = b"/kcrypt/probe"
    probe = transformer.to_storage(b"", context=context)
    if parse_prefix(probe) is None:
        return ""
    # The read tells the full prefix; parse_prefix alone would cut key names
    # at their first ":" (k3s names contain RFC 3339 times).
    return transformer.from_storage(probe, context=context).prefix


class Reencryptor:
    """One pass over ``prefix``; see the module docstring."""

    def __init__(
        self,
        datastore: Datastore,
        transformer: Transformer,
        *,
        config_hash: str,
        prefix: str = "/registry/secrets/",
        page_size: int = DEFAULT_PAGE_SIZE,
        on_progress: ProgressCallback | None = None,
        checkpoint_key: str = CHECKPOINT_KEY,
        clock: Callable[[], float] = time.monotonic,
        pause: tuple[float, float] = (PAUSE_FIRST, PAUSE_MAX),
    ) -> None:
        self._ds = datastore
        self._pause = pause
        self._tf = transformer
        self.config_hash = config_hash
        self.prefix = prefix
        self.page_size = page_size
        self._on_progress = on_progress
        self._ckpt_key = checkpoint_key
        self._clock = clock
        self.first_error = ""
        """The first unreadable value's storage key and error (names only)."""

    async def _until_available(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
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
                        self.prefix,
                        what,
                        exc,
                    )
                paused = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._pause[1])
                continue
            if paused:
                log.info("re-encryption of %s resumed at %s", self.prefix, what)
            return result

    async def run(self, *, resume: bool = True) -> ReencryptProgress:
        async def probe() -> str:
            return await _call(write_prefix_of, self._tf)

        write_prefix = await self._until_available("start", probe)
        saved, ckpt_rev = await load_checkpoint(self._ds, key=self._ckpt_key)
        if (
            resume
            and saved is not None
            and not saved.finished
            and saved.config_hash == self.config_hash
            and saved.prefix == self.prefix
        ):
            ckpt = saved
            log.info(
                "resuming re-encryption of %s after %s (%d done)",
                self.prefix,
                ckpt.last_key,
                ckpt.done,
            )
        else:
            total = await self._ds.count(self.prefix)
            ckpt = Checkpoint(
                self.config_hash, self.prefix, "", total, 0, 0, 0, 0, 0, time.time(), 0.0
            )
            ckpt_rev = await self._save(ckpt, ckpt_rev)
        t0, base_elapsed = self._clock(), ckpt.elapsed
        self._report(ckpt)

        async def write(page: Page, puts: list[PutIf], counts: _Counts) -> None:
            nonlocal ckpt, ckpt_rev
            ok = sum((await self._ds.txn_put(puts)).succeeded) if puts else 0
            ckpt = replace(
                ckpt,
                last_key=page.kvs[-1].key,
                done=ckpt.done + len(page.kvs),
                rewritten=ckpt.rewritten + ok,
                current=ckpt.current + counts.current,
                skipped=ckpt.skipped + len(puts) - ok,
                failed=ckpt.failed + counts.failed,
                total=max(ckpt.total, ckpt.done + len(page.kvs)),
                elapsed=base_elapsed + self._clock() - t0,
            )
            ckpt_rev = await self._save(ckpt, ckpt_rev)
            self._report(ckpt)

        # Three pages in flight: N+1 is read while N is decrypted/encrypted
        # while N-1 is written and checkpointed. Writes stay in page order, one
        # at a time: page N is written only after N-1's checkpoint is saved.
        pending: asyncio.Task[Page] | None = asyncio.ensure_future(
            self._read(ckpt.last_key or None)
        )
        writing: asyncio.Future[None] | None = None
        try:
            while pending is not None:
                page = await pending
                pending = None
                if page.more and page.kvs:
                    pending = asyncio.ensure_future(self._read(page.kvs[-1].key))
                if not page.kvs:
                    break
                puts, counts = await self._until_available(
                    page.kvs[0].key, functools.partial(self._transform, page, write_prefix)
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
        ckpt = replace(
            ckpt, finished=True, total=ckpt.done, elapsed=base_elapsed + self._clock() - t0
        )
        await self._save(ckpt, ckpt_rev)
        self._report(ckpt)
        log.info(
            "re-encrypted %s: %d values, %d rewritten, %d skipped (written concurrently), "
            "%d unreadable, %.0f/s",
            self.prefix,
            ckpt.done,
            ckpt.rewritten,
            ckpt.skipped,
            ckpt.failed,
            ckpt.progress().rate,
        )
        return ckpt.progress()

    async def _read(self, after: str | None) -> Page:
        return await self._ds.range(self.prefix, start_after=after, limit=self.page_size)

    async def _transform(self, page: Page, write_prefix: str) -> tuple[list[PutIf], _Counts]:
        """The compared rewrites of one page (values not yet under the write key).

        Runs on the loop in slices, so that the previous page's write and
        checkpoint (their COMMITs run in a thread) move on between slices."""
        puts: list[PutIf] = []
        current = failed = 0
        from_storage, to_storage = self._tf.from_storage, self._tf.to_storage
        for i, kv in enumerate(page.kvs):
            if i and i % TRANSFORM_SLICE == 0:
                await asyncio.sleep(0)
            context = kv.key.encode()
            try:
                read = await _read(from_storage, kv.value, context)
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
            value = await _write(to_storage, read.plaintext, context)
            puts.append(PutIf(kv.key, value, kv.mod_revision, lease=kv.lease))
        return puts, _Counts(current, failed)

    async def _save(self, ckpt: Checkpoint, mod_revision: int) -> int:
        result = await self._ds.txn_put([PutIf(self._ckpt_key, ckpt.encode(), mod_revision)])
        if not result.succeeded[0]:
            raise ReencryptInProgress("the re-encryption checkpoint was changed by another runner")
        kv = await self._ds.get(self._ckpt_key)
        return kv.mod_revision if kv is not None else result.revision

    def _report(self, ckpt: Checkpoint) -> None:
        if self._on_progress is not None:
            self._on_progress(ckpt.progress())


async def _read(from_storage: Callable[..., ReadResult], data: bytes, context: bytes) -> ReadResult:
    try:
        return from_storage(data, context=context)
    except WouldBlock:
        return await asyncio.to_thread(from_storage, data, context=context)


async def _write(to_storage: Callable[..., bytes], plaintext: bytes, context: bytes) -> bytes:
    try:
        return to_storage(plaintext, context=context)
    except WouldBlock:
        return await asyncio.to_thread(to_storage, plaintext, context=context)


async def _call(fn: Callable[[Transformer], T], transformer: Transformer) -> T:
    try:
        return fn(transformer)
    except WouldBlock:
        return await asyncio.to_thread(fn, transformer)


async def reencrypt(
    datastore: Datastore,
    transformer: Transformer,
    *,
    config_hash: str,
    prefix: str = "/registry/secrets/",
    page_size: int = DEFAULT_PAGE_SIZE,
    resume: bool = True,
    on_progress: ProgressCallback | None = None,
) -> ReencryptProgress:
    """Run one pass (see :class:`Reencryptor`); resumes a matching unfinished checkpoint."""
    engine = Reencryptor(
        datastore,
        transformer,
        config_hash=config_hash,
        prefix=prefix,
        page_size=page_size,
        on_progress=on_progress,
    )
    return await engine.run(resume=resume)
