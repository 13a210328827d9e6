"""Compared writes whose answer is lost after etcd applied them.

The engine retries on UNAVAILABLE; the retry's compare then fails *because of
our own write*. These tests lose the answer on purpose (the write is applied,
then the call fails) and check the engine recognises its own write, and still
reports a real conflict as one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from etcd_cluster import EtcdCluster

from kcrypt.datastore import KeyExists, PutIf
from kcrypt.datastore.etcd import EtcdDatastore, open_etcd

pytestmark = pytest.mark.etcd


class _LoseAnswers:
    """Wraps a KV stub: the next ``n`` Txn calls are applied, then "fail"."""

    def __init__(self, kv: Any, before_retry: Any = None) -> None:
        self._kv = kv
        self.lose = 0
        self.before_retry = before_retry
        self.apply = True  # False: fail *before* sending, nothing is applied

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kv, name)

    async def Txn(self, req: Any, **kw: Any) -> Any:
        resp = await self._kv.Txn(req, **kw) if self.apply or self.lose == 0 else None
        if self.lose > 0:
            self.lose -= 1
            if self.before_retry is not None:
                await self.before_retry()
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="test: answer lost after apply",
            )
        return resp


@pytest.fixture
async def lossy(etcd1_cluster: EtcdCluster) -> AsyncIterator[tuple[EtcdDatastore, _LoseAnswers]]:
    import uuid

    ds = await open_etcd(etcd1_cluster.url, prefix=f"/lost-{uuid.uuid4().hex}")
    stubs = ds._ch.current()  # one member: every attempt goes here
    wrapper = _LoseAnswers(stubs.kv)
    stubs.kv = wrapper
    try:
        yield ds, wrapper
    finally:
        await ds.close()


async def test_a_create_whose_answer_was_lost_is_ours(lossy: Any) -> None:
    ds, w = lossy
    w.lose = 1
    rev = await ds.create("/a", b"mine")
    kv = await ds.get("/a")
    assert kv is not None and (kv.value, kv.mod_revision, kv.version) == (b"mine", rev, 1)


async def test_an_update_whose_answer_was_lost_is_ours(lossy: Any) -> None:
    ds, w = lossy
    rev = await ds.create("/a", b"1")
    w.lose = 1
    res = await ds.update("/a", b"2", mod_revision=rev)
    assert res.ok
    kv = await ds.get("/a")
    assert kv is not None and (kv.value, kv.mod_revision) == (b"2", res.revision)


async def test_a_compared_delete_whose_answer_was_lost_is_ours(lossy: Any) -> None:
    ds, w = lossy
    rev = await ds.create("/a", b"1")
    w.lose = 1
    res = await ds.delete("/a", mod_revision=rev)
    assert res.ok and res.previous is not None and res.previous.value == b"1"
    assert await ds.get("/a") is None


async def test_a_txn_whose_answer_was_lost_is_ours(lossy: Any) -> None:
    ds, w = lossy
    rev = await ds.create("/a", b"1")
    w.lose = 1
    res = await ds.txn_put([PutIf("/a", b"2", rev), PutIf("/b", b"1", 0)])
    assert res.succeeded == (True, True)
    assert [kv.value for kv in (await ds.range("/")).kvs] == [b"2", b"1"]


async def test_our_write_then_theirs_is_still_ours(lossy: Any) -> None:
    ds, w = lossy
    rev = await ds.create("/a", b"1")

    async def someone_else_writes() -> None:  # after our applied write, before the retry
        assert (await ds.update("/a", b"theirs", mod_revision=rev + 1)).ok

    w.lose, w.before_retry = 1, someone_else_writes
    assert (await ds.update("/a", b"mine", mod_revision=rev)).ok


async def test_a_real_conflict_after_a_failed_attempt_is_still_a_conflict(lossy: Any) -> None:
    ds, w = lossy
    rev = await ds.create("/a", b"1")

    async def someone_else_updates() -> None:
        w.before_retry = None
        assert (await ds.update("/a", b"mine", mod_revision=rev)).ok  # same value, theirs

    w.lose, w.apply, w.before_retry = 1, False, someone_else_updates
    res = await ds.update("/a", b"other", mod_revision=rev)
    assert not res.ok and res.current is not None and res.current.value == b"mine"

    async def someone_else_creates() -> None:
        w.before_retry = None
        await ds.create("/b", b"theirs")

    w.lose, w.before_retry = 1, someone_else_creates
    with pytest.raises(KeyExists):
        await ds.create("/b", b"mine")
