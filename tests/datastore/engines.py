"""Which engines the datastore suites run on, and how each one is built.

Every contract test takes the ``engine`` fixture (``conftest.py``), which is
parametrized over ``ALL_ENGINES``; a test that only makes sense for some
engines re-parametrizes with a narrower list::

    @pytest.mark.parametrize("engine", PERSISTENT, indirect=True)

Adding an engine = one name in the lists + one entry in ``ENGINE_FACTORIES``.

etcd hooks (tests/etcd_cluster.py, written separately): it provides the
session-scoped fixtures ``etcd1_cluster`` and ``etcd3_cluster``; each returns
an object with ``url`` (an endpoint for ``open_datastore``) and, optionally,
``async disrupt()`` that breaks every client connection and returns once the
cluster serves again (used by the watch-across-reconnect test). Each test
gets a fresh key prefix, so one cluster serves the whole session.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kcrypt.datastore import Datastore, Event, open_datastore

ALL_ENGINES = ["memory", "sqlite", "etcd1", "etcd3"]
PERSISTENT = ["sqlite", "etcd1", "etcd3"]
CLUSTERED = ["etcd3"]
ETCD_ENGINES = {"etcd1", "etcd3"}
WAIT = 20.0  # a bound on hangs, never a timing assertion


@dataclass
class Engine:
    """What a contract test gets: the store, and a keyspace of its own."""

    name: str
    ds: Datastore
    prefix: str = field(default_factory=lambda: f"/kcrypt-test/{uuid.uuid4().hex}/")
    reconnect: Callable[[], Awaitable[None]] | None = None

    def key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)


Factory = Callable[[pytest.FixtureRequest, Path], Awaitable[Engine]]


async def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    return Engine("memory", await open_datastore("memory://"))


async def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    return Engine("sqlite", await open_datastore(f"sqlite://{tmp_path}/state.db"))


def _etcd(name: str) -> Factory:
    async def make(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
        cluster: Any = request.getfixturevalue(f"{name}_cluster")
        ds = await open_datastore(cluster.url)
        disrupt = getattr(cluster, "disrupt", None)
        if disrupt is None and hasattr(cluster, "restart"):

            async def disrupt() -> None:  # restart the leader: every client stream breaks
                leader = await asyncio.to_thread(cluster.leader)
                await asyncio.to_thread(cluster.restart, leader)

        return Engine(name, ds, reconnect=disrupt)

    return make


ENGINE_FACTORIES: dict[str, Factory] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "etcd1": _etcd("etcd1"),
    "etcd3": _etcd("etcd3"),
}


async def collect(ds: Datastore, prefix: str, *, start_revision: int, count: int) -> list[Event]:
    """The first ``count`` events of a watch (fails after WAIT seconds)."""
    events: list[Event] = []
    watch = ds.watch(prefix, start_revision=start_revision)
    try:
        async with asyncio.timeout(WAIT):
            async for event in watch:
                events.append(event)
                if len(events) >= count:
                    break
    finally:
        await watch.aclose()  # type: ignore[attr-defined]
    return events
