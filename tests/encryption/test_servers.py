"""Server records, liveness by lease, and the convergence gate (table-driven)."""

from __future__ import annotations

import asyncio

import pytest

from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption.publisher import ServerPublisher, list_servers
from kcrypt.encryption.servers import (
    Convergence,
    ServerRecord,
    ServerView,
    convergence,
)

H1, H2 = "1" * 64, "2" * 64


def live(node: str, h: str = H1, stage: str = "start", conflict: str = "") -> ServerView:
    return ServerView(ServerRecord(node, h, stage, conflict=conflict), True)


def down(node: str, h: str = H1, stage: str = "start") -> ServerView:
    return ServerView(ServerRecord(node, h, stage), False)


CASES = {
    "no servers at all => nothing to wait for, nothing to report": (
        [],
        Convergence(True, (), (), None),
    ),
    "three live servers on the desired hash => all hashes match": (
        [live("s1"), live("s2"), live("s3")],
        Convergence(True, (), (), None),
    ),
    "one live server on an older hash => it lags and k3s's sentence names it": (
        [live("s1"), live("s2", H2), live("s3")],
        Convergence(False, ("s2",), (), "hash does not match between s1 and s2"),
    ),
    "the reference server itself lags => named against the second one": (
        [live("s1", H2), live("s2"), live("s3")],
        Convergence(False, ("s1",), (), "hash does not match between s1 and s2"),
    ),
    "same hash, different stage => k3s compares stage and hash": (
        [live("s1"), live("s2", stage="prepare")],
        Convergence(True, (), (), "hash does not match between s1 and s2"),
    ),
    "a down server with the right hash => named as down, not as a mismatch": (
        [live("s1"), live("s2"), down("s3")],
        Convergence(True, (), ("s3",), "s3 is down (last seen never)"),
    ),
    "every server agrees but none runs the datastore's config => named against datastore": (
        [live("s1", H2), live("s2", H2)],
        Convergence(False, ("s1", "s2"), (), "hash does not match between s1 and datastore"),
    ),
    "a server reporting a hand-edited file => lagging and a mismatch": (
        [live("s1"), live("s2", conflict="changed by hand")],
        Convergence(False, ("s2",), (), "hash does not match between s1 and s2"),
    ),
    "only down servers => every one is named as down": (
        [down("s2"), down("s1")],
        Convergence(
            True, (), ("s1", "s2"), "s1 is down (last seen never); s2 is down (last seen never)"
        ),
    ),
    "a down server with another hash => named as down: its hash says nothing now": (
        [live("s1"), down("s3", H2)],
        Convergence(True, (), ("s3",), "s3 is down (last seen never)"),
    ),
    "a real mismatch among live servers is named before a down server": (
        [live("s1"), live("s2", H2), down("s3")],
        Convergence(False, ("s2",), ("s3",), "hash does not match between s1 and s2"),
    ),
    "servers are compared in name order, whatever the listing order": (
        [live("s3", H2), live("s1"), live("s2")],
        Convergence(False, ("s3",), (), "hash does not match between s1 and s3"),
    ),
}


def test_a_down_server_is_named_with_when_it_was_last_seen() -> None:
    s3 = ServerView(ServerRecord("s3", H1, "start", last_seen=1764547200.0), False)
    conv = convergence([live("s1"), s3], H1)
    assert conv.hash_error == "s3 is down (last seen 2025-12-01T00:00:00Z)"


@pytest.mark.parametrize(("servers", "expected"), CASES.values(), ids=CASES.keys())
def test_convergence(servers: list[ServerView], expected: Convergence) -> None:
    assert convergence(servers, H1) == expected


def test_agreed_needs_every_listed_server_live_and_applied() -> None:
    assert convergence([live("a"), live("b")], H1).agreed
    assert not convergence([live("a"), down("b")], H1).agreed


def test_records_round_trip_and_ignore_unknown_fields() -> None:
    rec = ServerRecord("n1", H1, "rotate", generation=4, started=1.0, last_seen=2.0)
    assert ServerRecord.decode(rec.encode()) == rec
    assert ServerRecord.decode(b'{"node":"n2","future":1}') == ServerRecord("n2")
    assert ServerRecord.decode(b"not json") is None
    assert rec.annotation == f"rotate-{H1}"
    assert ServerRecord("n3").annotation == ""


class Stepper:
    """A fake clock and the publisher's sleep on it: each sleep waits for the test's
    :meth:`step`, then moves the clock on by what was asked."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.asleep = asyncio.Event()
        self._go = asyncio.Semaphore(0)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.asleep.set()
        await self._go.acquire()
        self.now += seconds

    async def step(self) -> None:
        """One sleep ends; returns once the sleeper did its work and sleeps again."""
        await self.asleep.wait()
        self.asleep.clear()
        self._go.release()
        await self.asleep.wait()


async def test_a_published_server_is_live_until_its_lease_expires() -> None:
    clock = Stepper()
    ds = await open_datastore("memory://", clock=clock, lease_check_interval=3600)
    try:
        pub = ServerPublisher(
            ds, node="s1", ttl=1, renew_interval=0.2, clock=clock, sleep=clock.sleep
        )
        assert await pub.previous() is None
        await pub.publish(config_hash=H1, stage="start", generation=1)
        [view] = await list_servers(ds)
        assert view.live and view.record.config_hash == H1 and view.record.last_seen > 0
        renew = asyncio.create_task(pub.run())
        for _ in range(8):  # 1.6 s of renewals every 0.2 s, longer than the 1 s TTL
            await clock.step()
            assert await ds.expire_leases() == 0  # type: ignore[attr-defined]
        assert [v.live for v in await list_servers(ds)] == [True]
        renew.cancel()
        clock.now += 1.2  # no renewals for longer than the TTL: the marker goes with the lease
        assert await ds.expire_leases() == 1  # type: ignore[attr-defined]
        [view] = await list_servers(ds)
        assert not view.live and view.record.config_hash == H1
        again = ServerPublisher(ds, node="s1", ttl=1, renew_interval=0.2)
        previous = await again.previous()
        assert previous is not None and previous.config_hash == H1
        await again.publish(config_hash=H2)
        assert [v.live for v in await list_servers(ds)] == [True]
        await again.close()
        assert [v.live for v in await list_servers(ds)] == [False]
    finally:
        await ds.close()


async def test_an_operator_deleting_the_record_does_not_stop_the_server() -> None:
    ds = await open_datastore("memory://")
    try:
        pub = ServerPublisher(ds, node="s1", ttl=5, renew_interval=1)
        await pub.publish(config_hash=H1)
        await ds.delete(pub.key)
        await pub.publish(stage="prepare")
        [view] = await list_servers(ds)
        assert view.record.stage == "prepare"
    finally:
        await ds.close()


def test_node_names_with_a_slash_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid node name"):
        ServerPublisher(None, node="a/b")  # type: ignore[arg-type]
