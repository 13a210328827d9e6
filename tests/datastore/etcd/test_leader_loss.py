"""SIGKILL the leader of a 3-member cluster while writers run through the engine.

Every write the engine acknowledged must be there afterwards, with the value and
revision it reported, and the writers must carry on once a new leader is up. A
write whose answer was lost with the leader is retried; the engine must then
recognise its own applied attempt (no KeyExists for our own create, no failed
update against our own new revision).
"""

from __future__ import annotations

import asyncio
import signal

import pytest
from etcd_cluster import EtcdCluster

from datastore.engines import WAIT
from kcrypt.datastore import PutIf
from kcrypt.datastore.etcd import open_etcd

pytestmark = pytest.mark.etcd


async def test_acknowledged_writes_survive_a_killed_leader(etcd3_private: EtcdCluster) -> None:
    cluster = etcd3_private
    ds = await open_etcd(cluster.url, timeout=15.0, attempt_timeout=1.0)
    created: dict[str, tuple[bytes, int]] = {}
    chain: list[tuple[bytes, int]] = []
    batches: dict[str, bytes] = {}
    stop = asyncio.Event()

    async def creator(w: int) -> None:
        i = 0
        while not stop.is_set():
            key, value = f"/c/{w}/{i:05d}", b"c%d-%d" % (w, i)
            created[key] = (value, await ds.create(key, value))
            i += 1

    async def updater() -> None:  # one compared-update chain: must never lose a round
        rev = await ds.create("/chain", b"0")
        i = 0
        while not stop.is_set():
            i += 1
            value = b"%d" % i
            res = await ds.update("/chain", value, mod_revision=rev)
            assert res.ok, f"lost our own compared update: {res}"
            rev = res.revision
            chain.append((value, rev))

    async def batcher() -> None:
        i = 0
        while not stop.is_set():
            puts = [PutIf(f"/t/{i:05d}/{j}", b"t%d" % j, 0) for j in range(5)]
            res = await ds.txn_put(puts)
            assert all(res.succeeded), res
            batches.update({p.key: p.value for p in puts})
            i += 1

    def acked() -> int:
        return len(created) + len(chain) + len(batches)

    async def until(n: int) -> None:
        async with asyncio.timeout(WAIT):
            while acked() < n:
                await asyncio.sleep(0.01)

    tasks = [asyncio.ensure_future(c) for c in (creator(0), creator(1), updater(), batcher())]
    try:
        await until(100)
        leader = await asyncio.to_thread(cluster.leader)
        cluster.kill(leader, signal.SIGKILL)
        await until(acked() + 200)  # progress after the election
        new_leader = await asyncio.to_thread(cluster.leader)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert new_leader != leader

    for key, (value, rev) in created.items():
        kv = await ds.get(key)
        assert kv is not None and (kv.value, kv.mod_revision) == (value, rev), key
    last_value, last_rev = chain[-1]
    kv = await ds.get("/chain")
    assert kv is not None and (kv.value, kv.mod_revision) == (last_value, last_rev)
    assert kv.version == len(chain) + 1
    page = await ds.range("/t/")
    assert {kv.key: kv.value for kv in page.kvs} == batches
    await ds.close()
