"""Two services on one datastore: the HA gate, from the service's side (memory://).

The second server does not follow on its own here: the test calls its
``sync()`` by hand, so each step of ``rotate-keys`` can be observed while a
server lags. No value may be rewritten before every live server can read the
new key, and the new key may not write before every live server has it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kcrypt.datastore.contract import Datastore
from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import STATE_KEY, EncryptionService, StateStore, parse_config
from kcrypt.encryption.errors import HashMismatch
from kcrypt.encryption.ha import ClusterMember
from kcrypt.encryption.sealing import TokenSealer
from kcrypt.encryption.servers import ServerPublisher
from kcrypt.server.leader import LeaderElection

from .test_procedures import first_boot, raw, seed_values

TOKEN = "a-cluster-token"


@pytest.fixture
async def ds() -> AsyncIterator[Datastore]:
    store = await open_datastore("memory://")
    yield store
    await store.close()


def server(ds: Datastore, base: Path, node: str, *, generated: bool = False) -> EncryptionService:
    applied: list[bytes] = []
    cluster = ClusterMember(
        ds,
        publisher=ServerPublisher(ds, node=node, ttl=5, renew_interval=1),
        elector=LeaderElection(ds, identity=node, ttl=5, renew_interval=1, retry_interval=0.05),
        poll_interval=0.05,
    )
    return EncryptionService(
        ds,
        config_path=base / node / "encryption-config.json",
        node_name=node,
        apply_config=applied.append,
        page_size=25,
        sealer=TokenSealer(TOKEN, record_key=STATE_KEY),
        cluster=cluster,
        generated=generated,
    )


async def state_of(ds: Datastore) -> tuple[str, bool | None]:
    state, _ = await StateStore(ds, sealer=TokenSealer(TOKEN, record_key=STATE_KEY)).load()
    assert state is not None
    return state.config_hash, state.job.promote if state.job else None


async def all_under(ds: Datastore, config: bytes) -> bool:
    prefix = parse_config(config).write_prefix.encode()
    values = (await raw(ds)).values()
    return bool(values) and all(v.startswith(prefix) for v in values)


async def settle() -> None:
    await asyncio.sleep(0.4)  # many gate polls (0.05 s): what could happen, would


async def test_rotate_keys_waits_for_the_lagging_server_at_each_step(
    ds: Datastore, tmp_path: Path
) -> None:
    boot = first_boot(tmp_path / "s1" / "encryption-config.json")
    await seed_values(ds, config=boot)
    s1 = server(ds, tmp_path, "s1")
    await s1.start()
    first_boot(tmp_path / "s2" / "encryption-config.json")  # s2's own fresh key ...
    s2 = server(ds, tmp_path, "s2", generated=True)
    await s2.start()  # ... replaced by the cluster's
    assert s2.config_path.read_bytes() == boot
    assert await all_under(ds, boot)

    await s1.apply({"stage": "rotate_keys"})
    staged_hash, promote = await state_of(ds)
    assert promote is True
    staged = parse_config(s1.config_path.read_bytes())
    assert staged.write_prefix == parse_config(boot).write_prefix  # the new key only reads
    await settle()
    assert await state_of(ds) == (staged_hash, True)  # s2 lags: no promotion
    assert await all_under(ds, boot)

    await s2.sync()  # s2 can read the new key now
    for _ in range(100):
        promoted_hash, promote = await state_of(ds)
        if promote is False:
            break
        await asyncio.sleep(0.05)
    assert promote is False
    await settle()
    assert await all_under(ds, boot)  # s2 has not applied the promoted config: no rewrite

    await s2.sync()
    await s1.wait_idle()
    await s2.sync()
    await s2.wait_idle()
    final_hash, job = await state_of(ds)
    assert job is None and final_hash not in (staged_hash, promoted_hash)
    final = s1.config_path.read_bytes()
    assert await all_under(ds, final) and not await all_under(ds, boot)
    assert s2.config_path.read_bytes() == s1.config_path.read_bytes()
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
    await s2.start()
    await s1.apply({"stage": "prepare"})  # s2 does not follow
    status = await s1.status()
    assert status["hasherror"] == "hash does not match between s1 and s2"
    assert [r["applied"] for r in status["servers"]] == [True, False]
    with pytest.raises(HashMismatch, match="hash does not match between s1 and s2"):
        await s1.apply({"stage": "rotate"})
    await s1.apply({"stage": "rotate", "force": True})
    await s2.sync()
    assert (await s2.status())["hashmatch"] is True
