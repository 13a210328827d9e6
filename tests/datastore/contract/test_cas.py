"""create-if-absent, compared update and compared delete."""

from __future__ import annotations

import asyncio

import pytest

from datastore.engines import Engine
from kcrypt.datastore import KeyExists


async def test_create_refuses_a_live_key(engine: Engine) -> None:
    await engine.ds.create(engine.key("a"), b"1")
    with pytest.raises(KeyExists) as info:
        await engine.ds.create(engine.key("a"), b"2")
    assert engine.key("a") in str(info.value)
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None and kv.value == b"1"


async def test_create_works_again_after_a_delete(engine: Engine) -> None:
    await engine.ds.create(engine.key("a"), b"1")
    assert (await engine.ds.delete(engine.key("a"))).ok
    await engine.ds.create(engine.key("a"), b"2")
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None and kv.value == b"2"


async def test_update_with_the_current_revision_wins(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"1")
    res = await engine.ds.update(engine.key("a"), b"2", mod_revision=rev)
    assert res.ok and res.revision > rev and res.current is None
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None and (kv.value, kv.mod_revision, kv.create_revision) == (
        b"2",
        res.revision,
        rev,
    )


async def test_a_stale_update_returns_the_current_value(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"1")
    won = await engine.ds.update(engine.key("a"), b"2", mod_revision=rev)
    lost = await engine.ds.update(engine.key("a"), b"3", mod_revision=rev)
    assert not lost.ok
    assert lost.current is not None
    assert (lost.current.value, lost.current.mod_revision) == (b"2", won.revision)
    assert lost.revision >= won.revision


async def test_updating_a_missing_key_fails_with_no_current(engine: Engine) -> None:
    res = await engine.ds.update(engine.key("nope"), b"x", mod_revision=1)
    assert not res.ok and res.current is None
    assert await engine.ds.get(engine.key("nope")) is None


async def test_compared_delete(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"1")
    upd = await engine.ds.update(engine.key("a"), b"2", mod_revision=rev)
    stale = await engine.ds.delete(engine.key("a"), mod_revision=rev)
    assert not stale.ok
    assert stale.previous is not None and stale.previous.mod_revision == upd.revision
    assert await engine.ds.get(engine.key("a")) is not None
    done = await engine.ds.delete(engine.key("a"), mod_revision=upd.revision)
    assert done.ok and done.revision > upd.revision
    assert done.previous is not None and done.previous.value == b"2"
    assert await engine.ds.get(engine.key("a")) is None


async def test_deleting_a_missing_key_is_not_ok(engine: Engine) -> None:
    before = await engine.ds.revision()
    res = await engine.ds.delete(engine.key("nope"))
    assert not res.ok and res.previous is None
    assert await engine.ds.revision() == before


async def test_exactly_one_of_many_compared_writers_wins_each_round(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"0")
    for round_ in range(5):
        results = await asyncio.gather(
            *(
                engine.ds.update(engine.key("a"), b"%d-%d" % (round_, i), mod_revision=rev)
                for i in range(8)
            )
        )
        winners = [r for r in results if r.ok]
        assert len(winners) == 1
        rev = winners[0].revision
        for loser in (r for r in results if not r.ok):
            assert loser.current is not None and loser.current.mod_revision >= rev
