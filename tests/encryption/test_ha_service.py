"""Two controllers on one datastore: the HA gate, seen from inside (memory://).

The second server's controller loop does not run here: the test applies its
config by hand (``sync``), so each step of ``rotate-keys`` can be observed
while a server lags. No value may be rewritten before every live server can
read the new key, and the new key may not write before every live server has it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kcrypt.datastore.contract import Datastore
from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import Action, parse_config
from kcrypt.encryption.errors import HashMismatch

from ._node import Node, body
from .test_procedures import first_boot, raw, seed_values

TOKEN = "a-cluster-token-0123456789"


@pytest.fixture
async def ds() -> AsyncIterator[Datastore]:
    store = await open_datastore("memory://")
    yield store
    await store.close()


def server(ds: Datastore, base: Path, node: str, *, generated: bool = False) -> Node:
    path = base / node / "encryption-config.json"
    return Node(ds, path, node=node, token=TOKEN, generated=generated)


async def sync(node: Node) -> None:
    """What the lagging server's loop would do on its next wake: apply the state."""
    await node.controller.apply_if_needed()


async def state_of(node: Node) -> tuple[str, bool | None]:
    state, _ = await node.store.load()
    assert state is not None
    return state.config_hash, state.job.promote if state.job else None


async def all_under(ds: Datastore, config: bytes) -> bool:
    prefix = parse_config(config).write_prefix.encode()
    values = (await raw(ds)).values()
    return bool(values) and all(v.startswith(prefix) for v in values)


async def test_rotate_keys_waits_for_the_lagging_server_at_each_step(
    ds: Datastore, tmp_path: Path
) -> None:
    boot = first_boot(tmp_path / "s1" / "encryption-config.json")
    await seed_values(ds, config=boot)
    s1 = server(ds, tmp_path, "s1")
    await s1.start()
    first_boot(tmp_path / "s2" / "encryption-config.json")  # s2's own fresh key ...
    s2 = server(ds, tmp_path, "s2", generated=True)
    await s2.start(run=False)  # ... replaced by the cluster's
    assert s2.config == boot
    assert await all_under(ds, boot)

    await s1.svc.apply(body("rotate-keys"))
    staged_hash, promote = await state_of(s1)
    assert promote is True
    staged = parse_config(s1.config)
    assert staged.write_prefix == parse_config(boot).write_prefix  # the new key only reads
    step = await s1.settle()
    assert (step.action, step.reason) == (Action.WAIT, "servers-not-converged")
    assert "waiting for s2 to apply config" in step.message
    assert await state_of(s1) == (staged_hash, True)  # s2 lags: no promotion
    assert await all_under(ds, boot)
    assert (await s1.status())["controller"]["reason"] == "servers-not-converged"

    await sync(s2)  # s2 can read the new key now
    step = await s1.settle()  # promoted, then waiting for s2 again
    promoted_hash, promote = await state_of(s1)
    assert promote is False and step.reason == "servers-not-converged"
    assert await all_under(ds, boot)  # s2 has not applied the promoted config: no rewrite

    await sync(s2)
    await s1.settle()  # the pass, the proof, the removal: then s2 lags again
    await sync(s2)
    await s1.settle()
    final_hash, job = await state_of(s1)
    assert job is None and final_hash not in (staged_hash, promoted_hash)
    final = s1.config
    assert await all_under(ds, final) and not await all_under(ds, boot)
    await sync(s2)
    assert s2.config == s1.config
    status = await s2.status()
    assert status["stage"] == "reencrypt_finished" and status["hashmatch"] is True
    await s1.close()
    await s2.close()


async def test_a_lagging_server_makes_stage_commands_refuse_unless_forced(
    ds: Datastore, tmp_path: Path
) -> None:
    first_boot(tmp_path / "s1" / "encryption-config.json")
    s1, s2 = server(ds, tmp_path, "s1"), server(ds, tmp_path, "s2")
    await s1.start()
    await s2.start(run=False)
    await s1.svc.apply(body("prepare"))  # s2 does not follow
    status = await s1.status()
    assert status["hasherror"] == "hash does not match between s1 and s2"
    assert [r["applied"] for r in status["servers"]] == [True, False]
    with pytest.raises(HashMismatch, match="hash does not match between s1 and s2"):
        await s1.svc.apply(body("rotate"))
    await s1.svc.apply(body("rotate", force=True))
    await sync(s2)
    assert (await s2.status())["hashmatch"] is True
