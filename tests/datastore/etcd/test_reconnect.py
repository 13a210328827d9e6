"""A watch keeps going across member loss: no gaps, no duplicates."""

from __future__ import annotations

import asyncio
import signal

import pytest
from etcd_cluster import EtcdCluster

from datastore.engines import WAIT
from kcrypt.datastore import Event
from kcrypt.datastore.etcd import open_etcd

pytestmark = pytest.mark.etcd


async def test_a_watch_resumes_on_another_member(etcd3_private: EtcdCluster) -> None:
    cluster = etcd3_private
    writer = await open_etcd(cluster.url, timeout=15.0)
    # the watcher talks to member 0 first: that is the one we kill first
    watcher = await open_etcd(cluster.url, timeout=15.0)
    start = await writer.revision() + 1
    written: list[int] = []
    seen: list[Event] = []

    async def watch(total: int) -> None:
        w = watcher.watch("/r/", start_revision=start)
        try:
            async with asyncio.timeout(WAIT * 2):
                async for ev in w:
                    seen.append(ev)
                    if len(seen) >= total:
                        return
        finally:
            await w.aclose()

    async def write(tag: str, n: int) -> None:
        for i in range(n):
            written.append(await writer.create(f"/r/{tag}/{i:03d}", b"x"))

    task = asyncio.ensure_future(watch(300))
    await write("a", 100)
    cluster.kill(0, signal.SIGKILL)  # the watcher's member
    await write("b", 100)
    await asyncio.to_thread(cluster.restart, 0)
    leader = await asyncio.to_thread(cluster.leader)
    cluster.kill(leader, signal.SIGKILL)  # and then the leader, wherever the watch is
    await write("c", 100)
    await task

    revisions = [e.kv.mod_revision for e in seen]
    assert revisions == written  # every write once, in order
    assert [e.kv.key.split("/")[2] for e in seen] == ["a"] * 100 + ["b"] * 100 + ["c"] * 100
    await writer.close()
    await watcher.close()
