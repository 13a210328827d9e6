"""``progress(after=R, wait=T)``: the long-poll ``secrets-encrypt --wait`` rides on.

It answers as soon as the state record, the pass checkpoint or a server's
record changed after R, whichever server changed it, and after T seconds when
nothing did; other writes under ``/kcrypt/`` do not end the wait.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kcrypt.datastore.contract import Datastore

from ._node import Node, body
from .test_procedures import first_boot, seed_values

BOUND = 20.0  # a bound on hangs; the wait asked for is longer, so only a wake-up ends it


async def settled(store: Datastore, tmp_path: Path) -> tuple[Node, dict[str, Any]]:
    """A started server with nothing left to do, and its progress document."""
    path = tmp_path / "server/cred/encryption-config.json"
    await seed_values(store, config=first_boot(path))
    server = await Node(store, path).start()
    await server.settle()
    return server, await server.svc.progress()


async def test_a_waiting_request_answers_when_a_command_lands(
    store: Datastore, tmp_path: Path
) -> None:
    server, before = await settled(store, tmp_path)
    try:
        waiting = asyncio.create_task(server.svc.progress(after=before["revision"], wait=60))
        await asyncio.sleep(0)
        assert not waiting.done()
        await server.run(body("rotate-keys"))
        after = await asyncio.wait_for(waiting, BOUND)
        assert after["generation"] > before["generation"]
        assert after["revision"] > before["revision"]
    finally:
        await server.close()


async def test_a_wait_with_nothing_changing_ends_at_its_timeout_unchanged(
    store: Datastore, tmp_path: Path
) -> None:
    server, before = await settled(store, tmp_path)
    try:
        await store.create("/kcrypt/snapshot/last", b"{}")  # not what a waiting CLI follows
        again = await asyncio.wait_for(
            server.svc.progress(after=before["revision"], wait=0.2), BOUND
        )
        assert (again["generation"], again["job"]) == (before["generation"], before["job"])
    finally:
        await server.close()


async def test_a_server_joining_ends_a_wait(store: Datastore, tmp_path: Path) -> None:
    """What ``secrets-encrypt`` follows while it waits for every server to apply."""
    path = tmp_path / "one/server/cred/encryption-config.json"
    await seed_values(store, config=first_boot(path))
    one = await Node(store, path).start()
    two = Node(store, tmp_path / "two/server/cred/encryption-config.json", node="node-2")
    try:
        await one.settle()
        before = await one.svc.progress()
        waiting = asyncio.create_task(one.svc.progress(after=before["revision"], wait=60))
        await two.start()
        after = await asyncio.wait_for(waiting, BOUND)
        assert after["revision"] > before["revision"]
    finally:
        await two.close()
        await one.close()
