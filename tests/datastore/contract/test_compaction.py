"""compact(revision): history before it is gone, current values are not."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from datastore.engines import Engine, collect
from kcrypt.datastore import Compacted, EventType


async def test_compaction_forgets_history_but_keeps_values(engine: Engine) -> None:
    first = await engine.ds.create(engine.key("a"), b"1")
    rev = (await engine.ds.update(engine.key("a"), b"2", mod_revision=first)).revision
    await engine.ds.create(engine.key("b"), b"b")
    gone = await engine.ds.create(engine.key("c"), b"c")
    deleted = (await engine.ds.delete(engine.key("c"))).revision
    rev = (await engine.ds.update(engine.key("a"), b"3", mod_revision=rev)).revision
    await engine.ds.compact(deleted)

    with pytest.raises(Compacted) as info:
        await engine.ds.get(engine.key("a"), revision=first)
    assert info.value.compact_revision >= deleted
    with pytest.raises(Compacted):
        await engine.ds.range(engine.prefix, revision=gone)
    with pytest.raises(Compacted):
        await collect(engine.ds, engine.prefix, start_revision=first, count=1)

    at = await engine.ds.range(engine.prefix, revision=deleted)
    assert [(kv.key, kv.value) for kv in at.kvs] == [
        (engine.key("a"), b"2"),
        (engine.key("b"), b"b"),
    ]
    now = await engine.ds.range(engine.prefix)
    assert [kv.value for kv in now.kvs] == [b"3", b"b"]
    a = await engine.ds.get(engine.key("a"))
    assert a is not None and (a.create_revision, a.version) == (first, 3)


async def test_a_watch_from_the_compaction_revision_still_works(engine: Engine) -> None:
    await engine.ds.create(engine.key("a"), b"1")
    deleted = (await engine.ds.delete(engine.key("a"))).revision
    await engine.ds.create(engine.key("b"), b"2")
    await engine.ds.compact(deleted)
    # etcd also drops a tombstone written exactly at the compaction revision,
    # so the DELETE may or may not come; what follows must.
    events = await collect(engine.ds, engine.key("b"), start_revision=deleted, count=1)
    assert [(e.type, e.kv.key) for e in events] == [(EventType.PUT, engine.key("b"))]


async def test_compacting_again_at_an_older_revision_changes_nothing(engine: Engine) -> None:
    first = await engine.ds.create(engine.key("a"), b"1")
    rev = (await engine.ds.update(engine.key("a"), b"2", mod_revision=first)).revision
    await engine.ds.compact(rev)
    with contextlib.suppress(Compacted):  # etcd's own answer; a no-op is as good
        await engine.ds.compact(first)
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None and kv.value == b"2"
    with pytest.raises(Compacted):
        await engine.ds.get(engine.key("a"), revision=first)


async def test_an_open_watch_that_had_no_turn_yet_survives_a_compaction_right_after_writes(
    engine: Engine,
) -> None:
    """A key rotation writes, then compacts at once (``compact_now``): a watch that is
    up to date in every way but had no turn on the loop in between is not behind."""
    start = await engine.ds.revision() + 1
    seen: list[str] = []
    done = asyncio.Event()

    async def follow() -> None:
        async for event in engine.ds.watch(engine.prefix, start_revision=start):
            seen.append(event.kv.key)
            if len(seen) == 3:
                done.set()
                return

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0.2)  # the watch is open and idle
    for name in ("a", "b", "c"):  # a burst, then the compaction, with no turn between
        rev = await engine.ds.create(engine.key(name), b"v")
    await engine.ds.compact(rev)
    try:
        async with asyncio.timeout(20):
            await done.wait()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert seen == [engine.key("a"), engine.key("b"), engine.key("c")]
