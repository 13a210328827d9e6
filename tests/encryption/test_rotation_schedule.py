"""Scheduled rotation on a fake clock: due -> rotate-keys; never while servers disagree."""

from __future__ import annotations

from pathlib import Path

from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import Action, parse_config

from ._node import Node
from .test_procedures import assert_store, first_boot, seed_values

DAY = 86400.0


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_write_key_is_rotated_when_the_interval_has_passed(tmp_path: Path) -> None:
    ds = await open_datastore("memory://")
    clock = FakeClock()
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(ds, config=boot)
    node = await Node(ds, path, rotation_interval=30 * DAY, clock=clock).start()
    step = await node.settle()
    assert (step.action, step.reason) == (Action.IDLE, "rotation-scheduled")
    status = await node.status()
    assert status["rotation"]["interval"] == 30 * DAY
    assert status["rotation"]["activeKeyAge"] == 0.0
    assert "controller" not in status  # nothing to do: k3s's fields only, plus the schedule

    clock.now += 29 * DAY
    assert (await node.settle()).reason == "rotation-scheduled"
    assert node.config == boot

    clock.now += 1 * DAY + 1
    await node.settle()
    rotated = parse_config(node.config)
    assert rotated.write_prefix != parse_config(boot).write_prefix
    assert [p.kind for p in rotated.providers] == ["aescbc", "identity"]
    assert len(rotated.all_keys()) == 1  # the old key went after the proof
    await assert_store(ds, node.config)
    status = await node.status()
    assert status["stage"] == "reencrypt_finished"
    assert status["rotation"]["activeKeyAge"] == 0.0  # the new key's age starts now
    saved = [s for s in node.hooks.saved if s is not None]
    assert saved[0].job is not None and saved[0].job.scheduled
    assert [r.key.name for r in saved[-1].retired] == [parse_config(boot).all_keys()[0][1].name]
    await node.close()
    await ds.close()


async def test_a_due_rotation_waits_while_a_server_is_down(tmp_path: Path) -> None:
    ds = await open_datastore("memory://")
    clock = FakeClock()
    s1_path = tmp_path / "s1/encryption-config.json"
    boot = first_boot(s1_path)
    await seed_values(ds, config=boot)
    s1 = await Node(ds, s1_path, node="s1", rotation_interval=DAY, clock=clock).start()
    first_boot(tmp_path / "s2/encryption-config.json")
    s2_path = tmp_path / "s2/encryption-config.json"
    s2 = await Node(ds, s2_path, node="s2", generated=True, clock=clock).start()
    await s2.settle()
    await s2.close()  # down: its key set may fall behind the cluster's
    clock.now += 2 * DAY
    step = await s1.settle()
    assert (step.action, step.reason) == (Action.WAIT, "servers-disagree")
    assert "s2 is down" in step.message
    assert (await s1.status())["controller"]["reason"] == "servers-disagree"
    assert s1.config == boot

    s2 = await Node(ds, s2_path, node="s2", clock=clock).start()  # back: the rotation happens
    await s1.settle()
    await s2.settle()
    assert (await s1.status())["stage"] == "reencrypt_finished"
    assert s1.config == s2.config
    await s1.close()
    await s2.close()
    await ds.close()
