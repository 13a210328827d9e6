"""watch: every event once, in order, with the previous value."""

from __future__ import annotations

import asyncio

import pytest

from datastore.engines import WAIT, Engine, collect
from kcrypt.datastore import EventType, PutIf


async def test_history_from_a_past_revision_with_prev_values(engine: Engine) -> None:
    start = await engine.ds.create(engine.key("a"), b"a1")
    upd = await engine.ds.update(engine.key("a"), b"a2", mod_revision=start)
    await engine.ds.create(engine.key("b"), b"b1")
    await engine.ds.create("/elsewhere-" + engine.prefix, b"not watched")
    gone = await engine.ds.delete(engine.key("a"))
    events = await collect(engine.ds, engine.prefix, start_revision=start, count=4)
    assert [(e.type, e.kv.key) for e in events] == [
        (EventType.PUT, engine.key("a")),
        (EventType.PUT, engine.key("a")),
        (EventType.PUT, engine.key("b")),
        (EventType.DELETE, engine.key("a")),
    ]
    revisions = [e.kv.mod_revision for e in events]
    assert revisions == sorted(revisions) and revisions[0] == start
    create, update, _, delete = events
    assert create.prev is None and create.kv.value == b"a1"
    assert update.prev is not None and update.prev.value == b"a1"
    assert update.prev.mod_revision == start and update.kv.mod_revision == upd.revision
    assert delete.kv.value == b"" and delete.kv.mod_revision == gone.revision
    assert delete.prev is not None and delete.prev.value == b"a2"


async def test_a_live_watch_sees_later_writes(engine: Engine) -> None:
    start = await engine.ds.revision() + 1
    task = asyncio.ensure_future(collect(engine.ds, engine.prefix, start_revision=start, count=3))
    await asyncio.sleep(0.05)
    rev = await engine.ds.create(engine.key("a"), b"1")
    await engine.ds.update(engine.key("a"), b"2", mod_revision=rev)
    await engine.ds.delete(engine.key("a"))
    events = await task
    assert [e.type for e in events] == [EventType.PUT, EventType.PUT, EventType.DELETE]


async def test_every_event_arrives_once_under_concurrent_writers(engine: Engine) -> None:
    start = await engine.ds.revision() + 1
    n_writers, per_writer = 5, 40
    watcher = asyncio.ensure_future(
        collect(engine.ds, engine.prefix, start_revision=start, count=n_writers * per_writer)
    )

    async def writer(w: int) -> list[int]:
        revs = []
        for i in range(per_writer):
            revs.append(await engine.ds.create(engine.key(f"w{w}", f"{i}"), b"x"))
        return revs

    written = sorted(
        r for revs in await asyncio.gather(*map(writer, range(n_writers))) for r in revs
    )
    events = await watcher
    assert [e.kv.mod_revision for e in events] == written


async def test_txn_puts_arrive_as_separate_events(engine: Engine) -> None:
    start = await engine.ds.revision() + 1
    await engine.ds.txn_put([PutIf(engine.key(f"k{i}"), b"v", 0) for i in range(50)])
    events = await collect(engine.ds, engine.prefix, start_revision=start, count=50)
    assert [e.kv.key for e in events] == [engine.key(f"k{i}") for i in range(50)]


async def test_leaving_the_loop_ends_the_watch(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"1")
    watch = engine.ds.watch(engine.prefix, start_revision=rev)
    async with asyncio.timeout(WAIT):
        first = await anext(aiter(watch))
    assert first.kv.key == engine.key("a")
    await watch.aclose()  # type: ignore[attr-defined]
    with pytest.raises(StopAsyncIteration):
        await anext(aiter(watch))


async def test_a_watch_survives_a_reconnect(engine: Engine) -> None:
    if engine.reconnect is None:
        pytest.skip(f"{engine.name} has no connection to lose")
    start = await engine.ds.revision() + 1
    task = asyncio.ensure_future(collect(engine.ds, engine.prefix, start_revision=start, count=20))
    for i in range(10):
        await engine.ds.create(engine.key(f"before{i}"), b"x")
    await engine.reconnect()
    for i in range(10):
        await engine.ds.create(engine.key(f"after{i}"), b"x")
    events = await task
    revisions = [e.kv.mod_revision for e in events]
    assert len(set(revisions)) == 20 and revisions == sorted(revisions)
