"""Many writers at once: CAS retry loops lose nothing."""

from __future__ import annotations

import asyncio

from datastore.engines import Engine
from kcrypt.datastore import KeyExists, PutIf


async def test_cas_increments_from_many_writers_add_up(engine: Engine) -> None:
    key = engine.key("counter")
    await engine.ds.create(key, b"0")

    async def increment(times: int) -> None:
        kv = await engine.ds.get(key)
        assert kv is not None
        for _ in range(times):
            while True:
                res = await engine.ds.update(
                    key, b"%d" % (int(kv.value) + 1), mod_revision=kv.mod_revision
                )
                if res.ok:
                    kv = await engine.ds.get(key)
                    assert kv is not None
                    break
                assert res.current is not None
                kv = res.current  # retry from the value the failed CAS returned

    await asyncio.gather(*(increment(10) for _ in range(6)))
    final = await engine.ds.get(key)
    assert final is not None and final.value == b"60" and final.version == 61


async def test_concurrent_creates_of_one_key_have_one_winner(engine: Engine) -> None:
    results = await asyncio.gather(
        *(engine.ds.create(engine.key("once"), b"%d" % i) for i in range(8)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert all(isinstance(r, KeyExists) for r in results if not isinstance(r, int))


async def test_concurrent_batches_on_disjoint_keys_all_apply(engine: Engine) -> None:
    async def batch(b: int) -> tuple[bool, ...]:
        res = await engine.ds.txn_put(
            [PutIf(engine.key(f"b{b}", f"{i:03d}"), b"v", 0) for i in range(100)]
        )
        return res.succeeded

    outcomes = await asyncio.gather(*(batch(b) for b in range(5)))
    assert all(all(o) for o in outcomes)
    assert await engine.ds.count(engine.prefix) == 500
