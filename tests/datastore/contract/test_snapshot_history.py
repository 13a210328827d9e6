"""history(): the revisions a store still keeps; snapshot(): a whole store as one
revision, opened again with open_image -- while writes go on."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from datastore.engines import Engine
from kcrypt.datastore import EventType, PutIf, open_image


async def _changes(engine: Engine) -> tuple[int, int]:
    """a: created then updated; b: created then deleted. Returns (first, last) revision."""
    ds = engine.ds
    first = await ds.create(engine.key("a"), b"a1")
    await ds.update(engine.key("a"), b"a2", mod_revision=first)
    await ds.create(engine.key("b"), b"b1")
    last = (await ds.delete(engine.key("b"))).revision
    return first, last


async def test_history_replays_every_kept_change_in_the_range_then_ends(engine: Engine) -> None:
    first, last = await _changes(engine)
    await engine.ds.create(engine.key("later"), b"x")  # after the range: not replayed
    await engine.ds.create("/elsewhere-" + engine.prefix, b"y")  # outside the prefix

    events = [
        e async for e in engine.ds.history(engine.prefix, start_revision=first, end_revision=last)
    ]

    seen = [(e.type, e.kv.key.removeprefix(engine.prefix), e.kv.value) for e in events]
    assert seen == [
        (EventType.PUT, "a", b"a1"),
        (EventType.PUT, "a", b"a2"),
        (EventType.PUT, "b", b"b1"),
        (EventType.DELETE, "b", b""),
    ]
    assert events[1].prev is not None and events[1].prev.value == b"a1"
    assert events[3].prev is not None and events[3].prev.value == b"b1"
    assert [e.kv.mod_revision for e in events] == sorted(e.kv.mod_revision for e in events)


async def test_history_after_compaction_holds_only_what_is_kept(engine: Engine) -> None:
    first, last = await _changes(engine)
    await engine.ds.compact(last)
    events = [
        e async for e in engine.ds.history(engine.prefix, start_revision=1, end_revision=last)
    ]
    # a1 and b's create are gone; what remains is at most the delete of b
    assert all(e.kv.value != b"a1" for e in events)
    assert all(e.kv.mod_revision >= first for e in events)


async def test_a_snapshot_is_one_revision_of_the_whole_store(
    engine: Engine, tmp_path: Path
) -> None:
    _, last = await _changes(engine)
    out = tmp_path / "image"

    async def writer() -> None:  # writes go on while the image is taken
        for i in range(50):
            await engine.ds.create(engine.key(f"w{i:03d}"), b"w")

    task = asyncio.create_task(writer())
    image = await engine.ds.snapshot(out)
    await task

    assert out.is_file() and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert image.size == out.stat().st_size > 0
    opened = await open_image(out, image.kind)
    try:
        revision = await opened.revision()
        assert image.revision in (0, revision)
        assert revision >= last
        page = await opened.range(engine.prefix)
        names = [kv.key.removeprefix(engine.prefix) for kv in page.kvs]
        assert names[0] == "a" and page.kvs[0].value == b"a2"
        assert "b" not in names
        # exactly the writes up to the image's revision are in it: no torn state
        live = await engine.ds.range(engine.prefix, revision=revision)
        assert [(kv.key, kv.value) for kv in live.kvs] == [(kv.key, kv.value) for kv in page.kvs]
        events = [
            e async for e in opened.history(engine.prefix, start_revision=1, end_revision=revision)
        ]
        assert any(e.kv.value == b"a1" for e in events)  # history travels with the image
    finally:
        await opened.close()


async def test_superseded_history_leaves_the_current_values_out(engine: Engine) -> None:
    first, last = await _changes(engine)
    b = await engine.ds.create(engine.key("c"), b"c1")  # current: not history
    events = [
        e
        async for e in engine.ds.history(
            engine.prefix, start_revision=first, end_revision=b, superseded=True
        )
    ]
    seen = [(e.type, e.kv.key.removeprefix(engine.prefix), e.kv.value) for e in events]
    assert seen == [(EventType.PUT, "a", b"a1"), (EventType.PUT, "b", b"b1")]
    assert last < b


async def test_superseded_history_is_not_the_value_a_compaction_stopped_at(
    engine: Engine,
) -> None:
    """A compaction records its revision; the value written at that revision is
    still current, so it is not history."""
    ds = engine.ds
    a = await ds.create(engine.key("a"), b"a1")
    await ds.update(engine.key("a"), b"a2", mod_revision=a)
    c = await ds.create(engine.key("c"), b"c1")
    await ds.compact(c)
    events = [
        e
        async for e in ds.history(engine.prefix, start_revision=1, end_revision=c, superseded=True)
    ]
    assert [e.kv.value for e in events] == []


async def test_superseded_history_pages_through_replaced_values_beside_other_prefixes(
    engine: Engine,
) -> None:
    """More replaced values than one page holds, interleaved with replaced values
    under another prefix: every one under the prefix comes back, once, in order."""
    ds = engine.ds
    elsewhere = engine.prefix.rstrip("/") + "-other/"
    n = 520
    created = await ds.txn_put(
        [PutIf(p + f"k{i:04d}", b"1", 0) for i in range(n) for p in (engine.prefix, elsewhere)]
    )
    updates = [
        PutIf(p + f"k{i:04d}", b"2", rev)
        for (i, p), rev in zip(
            ((i, p) for i in range(n) for p in (engine.prefix, elsewhere)),
            created.revisions,
            strict=True,
        )
    ]
    done = await ds.txn_put(updates)
    events = [
        e
        async for e in ds.history(
            engine.prefix, start_revision=1, end_revision=done.revision, superseded=True
        )
    ]
    assert [e.kv.key for e in events] == [engine.key(f"k{i:04d}") for i in range(n)]
    assert {e.kv.value for e in events} == {b"1"}
