"""Leases: keys go (as normal DELETE events) when their lease expires or is revoked."""

from __future__ import annotations

import pytest

from datastore.engines import Engine, collect
from kcrypt.datastore import EventType, LeaseNotFound, PutIf


async def test_keepalive_renews_and_reports_the_ttl(engine: Engine) -> None:
    lease = await engine.ds.grant_lease(30)
    await engine.ds.create(engine.key("a"), b"1", lease=lease)
    assert await engine.ds.keepalive(lease) == 30
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None and kv.lease == lease
    await engine.ds.revoke_lease(lease)


async def test_revoking_deletes_the_keys_with_events(engine: Engine) -> None:
    lease = await engine.ds.grant_lease(60)
    start = await engine.ds.create(engine.key("a"), b"1", lease=lease)
    await engine.ds.txn_put([PutIf(engine.key("b"), b"2", 0, lease=lease)])
    await engine.ds.create(engine.key("c"), b"no lease")
    await engine.ds.revoke_lease(lease)
    assert [kv.key for kv in (await engine.ds.range(engine.prefix)).kvs] == [engine.key("c")]
    events = await collect(engine.ds, engine.prefix, start_revision=start, count=5)
    deletes = [e for e in events if e.type is EventType.DELETE]
    assert sorted(e.kv.key for e in deletes) == [engine.key("a"), engine.key("b")]
    assert all(e.prev is not None and e.prev.lease == lease for e in deletes)


async def test_an_expired_lease_deletes_its_keys(engine: Engine) -> None:
    lease = await engine.ds.grant_lease(1)
    start = await engine.ds.create(engine.key("a"), b"1", lease=lease)
    events = await collect(engine.ds, engine.prefix, start_revision=start, count=2)
    assert [(e.type, e.kv.key) for e in events] == [
        (EventType.PUT, engine.key("a")),
        (EventType.DELETE, engine.key("a")),
    ]
    assert await engine.ds.get(engine.key("a")) is None
    with pytest.raises(LeaseNotFound):
        await engine.ds.keepalive(lease)


async def test_unknown_leases_are_refused(engine: Engine) -> None:
    unknown = 0x5EED
    with pytest.raises(LeaseNotFound):
        await engine.ds.keepalive(unknown)
    with pytest.raises(LeaseNotFound):
        await engine.ds.revoke_lease(unknown)
    with pytest.raises(LeaseNotFound):
        await engine.ds.create(engine.key("a"), b"1", lease=unknown)
    assert await engine.ds.get(engine.key("a")) is None
