"""Lease-based election of the single re-encryption runner (memory:// and a real etcd)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from etcd_cluster import etcd1_cluster, etcd_available

from kcrypt.datastore import Datastore, open_datastore
from kcrypt.server.leader import LeaderElection, LeadershipLost

__all__ = ["etcd1_cluster"]

WAIT = 20.0  # a bound on hangs, never a timing assertion


@pytest.fixture(params=["memory", pytest.param("etcd", marks=pytest.mark.etcd)])
async def ds(request: pytest.FixtureRequest) -> AsyncIterator[Datastore]:
    if request.param == "memory":
        store = await open_datastore("memory://")
    else:
        if not etcd_available():
            pytest.skip("needs /usr/bin/etcd")
        cluster: Any = request.getfixturevalue("etcd1_cluster")
        store = await open_datastore(cluster.url)
    yield store
    await store.close()


def election(ds: Datastore, key: str, who: str) -> LeaderElection:
    return LeaderElection(ds, identity=who, key=key, ttl=2, renew_interval=0.3, retry_interval=0.1)


def lease_key() -> str:
    return f"/kcrypt-test/{uuid.uuid4().hex}/lease"


async def test_one_runner_at_a_time_and_the_key_goes_when_done(ds: Datastore) -> None:
    key = lease_key()
    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []

    def job(who: str) -> Any:
        async def work() -> str:
            running.append(who)
            overlaps.append(tuple(running))
            await asyncio.sleep(0.3)
            running.remove(who)
            return who

        return work

    elections = [election(ds, key, f"s{i}") for i in range(3)]
    async with asyncio.timeout(WAIT):
        done = await asyncio.gather(*(e.run_as_leader(job(e.identity)) for e in elections))
    assert sorted(done) == ["s0", "s1", "s2"]
    assert all(len(o) == 1 for o in overlaps)
    assert await ds.get(key) is None
    assert not any(e.leading for e in elections)


async def test_a_dead_holder_is_replaced_after_its_lease_expires(ds: Datastore) -> None:
    key = lease_key()
    # A holder that died without resigning: its key is held by a lease nobody renews.
    lease = await ds.grant_lease(1)
    await ds.create(key, b"dead-server", lease=lease)
    follower = election(ds, key, "s2")
    assert await follower.holder() == "dead-server"
    async with asyncio.timeout(WAIT):
        result = await follower.run_as_leader(lambda: asyncio.sleep(0, result="took over"))
    assert result == "took over"


async def test_a_holder_whose_key_is_taken_away_stops_its_work(ds: Datastore) -> None:
    key = lease_key()
    leader = election(ds, key, "s1")
    started = asyncio.Event()

    async def endless() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(leader.run_as_leader(endless))
    async with asyncio.timeout(WAIT):
        await started.wait()
        kv = await ds.get(key)
        assert kv is not None and leader.leading
        await ds.revoke_lease(kv.lease)  # what an expired lease looks like to the holder
        with pytest.raises(LeadershipLost, match="s1 lost"):
            await task
    assert not leader.leading


async def test_an_error_in_the_work_resigns_at_once(ds: Datastore) -> None:
    key = lease_key()

    async def boom() -> None:
        raise RuntimeError("work failed")

    with pytest.raises(RuntimeError, match="work failed"):
        await election(ds, key, "s1").run_as_leader(boom)
    assert await ds.get(key) is None


def test_renewal_must_be_shorter_than_the_ttl() -> None:
    with pytest.raises(ValueError, match="shorter"):
        LeaderElection(None, identity="x", ttl=2, renew_interval=2)  # type: ignore[arg-type]
