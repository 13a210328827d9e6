"""What follows a pass: the proof, the key removal, the compaction -- in that order, resumable.

Data safety: a pass that moves values away from a key or from plaintext must
not leave them in the datastore's history (kine's older rows and
``old_value``, etcd's revisions), so every pass ends with a compaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import Action, EncryptionState, Step, parse_config

from ._node import Node, body
from .test_procedures import PREFIX, assert_store, first_boot, seed_values


def history_rows(db: Path) -> list[bytes]:
    """Every stored byte string under /registry/secrets/: values and old values of all rows."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT value, old_value FROM kine WHERE name LIKE ?", (PREFIX + "%",)
        ).fetchall()
    return [b for row in rows for b in row if b]


@pytest.mark.parametrize("compaction", [True, False])
async def test_plaintext_leaves_the_history_after_enable(tmp_path: Path, compaction: bool) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    path = tmp_path / "cred/encryption-config.json"
    await seed_values(ds, config=first_boot(path))
    node = await Node(ds, path, compaction=compaction).start()
    await node.run(body("disable"))  # every value now plaintext, as the seed's procedure does
    assert (await node.status())["enable"] is False
    await node.run(body("enable"))
    assert (await node.status())["enable"] is True
    plaintext = [v for v in history_rows(db) if b"secret-" in v]
    if compaction:
        assert plaintext == []
    else:  # what --compaction-interval 0 keeps, as docs/secrets-encrypt.md says
        assert plaintext
    await node.close()
    await ds.close()


async def test_the_old_key_is_removed_then_the_history_compacted(tmp_path: Path) -> None:
    ds = await open_datastore("memory://")
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(ds, config=boot)
    node = await Node(ds, path).start()
    await node.run(body("rotate-keys"))
    acts = [s.action for s in node.hooks.steps]
    assert acts == [Action.PROMOTE, Action.PASS, Action.SCAN, Action.REMOVE_KEY, Action.COMPACT]
    removed = node.hooks.saved[acts.index(Action.REMOVE_KEY)]
    assert removed is not None and removed.job is not None and removed.job.removed
    boot_key = parse_config(boot).providers[0].keys[0].name
    assert [r.key.name for r in removed.retired] == [boot_key]  # kept for old snapshots
    status = await node.status()
    assert status["stage"] == "reencrypt_finished" and "inactivekeys" not in status


async def test_skip_keeps_every_key_and_still_compacts(tmp_path: Path) -> None:
    ds = await open_datastore("memory://")
    path = tmp_path / "cred/encryption-config.json"
    await seed_values(ds, config=first_boot(path))
    node = await Node(ds, path).start()
    await node.run(body("prepare"))
    await node.run(body("rotate"))
    node.hooks.steps.clear()
    await node.run(body("reencrypt", skip=True))
    assert [s.action for s in node.hooks.steps] == [Action.PASS, Action.COMPACT]
    assert len((await node.status())["inactivekeys"]) == 1


async def test_a_failing_hook_changes_nothing_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ds = await open_datastore("memory://")
    path = tmp_path / "cred/encryption-config.json"
    await seed_values(ds, config=first_boot(path))
    node = await Node(ds, path).start()
    node.hooks.fail_after_step = RuntimeError("snapshot refused")
    await node.run(body("rotate-keys"))
    status = await node.status()
    assert status["stage"] == "reencrypt_finished" and "reencrypt" not in status
    assert "after compact" in caplog.text and "snapshot refused" in caplog.text


async def rotate_and_stop_after(node: Node, after: Action) -> None:
    """``rotate-keys``, then the controller dies right after saving step ``after``."""
    stopped = asyncio.Event()
    real = node.hooks.step_done

    async def stop_after(step: Step, state: EncryptionState | None) -> None:
        await real(step, state)
        if step.action is after:
            stopped.set()
            await asyncio.Event().wait()  # the process dies here (cancelled below)

    node.hooks.step_done = stop_after  # type: ignore[method-assign]
    await node.svc.apply(body("rotate-keys"))
    await asyncio.wait_for(stopped.wait(), 30)
    await node.close()


async def test_a_stop_between_key_removal_and_compaction_resumes_with_the_compaction(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    old_prefix = parse_config(boot).write_prefix.encode()
    await seed_values(ds, config=boot)
    await rotate_and_stop_after(await Node(ds, path).start(), Action.REMOVE_KEY)
    old = [v for v in history_rows(db) if v.startswith(old_prefix)]
    assert old  # the removal is saved, the old ciphertexts are still in the history

    again = await Node(ds, path).start()
    await again.settle()
    assert [s.action for s in again.hooks.steps] == [Action.COMPACT]
    assert (await again.status())["stage"] == "reencrypt_finished"
    assert not [v for v in history_rows(db) if v.startswith(old_prefix)]
    await again.close()
    await ds.close()


@pytest.mark.parametrize(
    "after", [Action.PROMOTE, Action.PASS, Action.SCAN, Action.REMOVE_KEY, Action.COMPACT]
)
async def test_a_stop_after_any_step_resumes_at_the_next_one(tmp_path: Path, after: Action) -> None:
    """The controller remembers nothing: whatever step it stopped after, a new one
    (a restarted server) takes the remaining steps and every value stays readable."""
    ds = await open_datastore(f"sqlite://{tmp_path}/state.db")
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    await seed_values(ds, config=boot)
    await rotate_and_stop_after(await Node(ds, path).start(), after)
    order = [Action.PROMOTE, Action.PASS, Action.SCAN, Action.REMOVE_KEY, Action.COMPACT]
    again = await Node(ds, path).start()
    await again.settle()
    done = [s.action for s in again.hooks.steps]
    # the proof is kept in memory: a restart after the scan proves again
    expected = order[order.index(after) + 1 :]
    if after is Action.SCAN:
        expected = [Action.SCAN, *expected]
    assert done == expected
    status = await again.status()
    assert status["stage"] == "reencrypt_finished" and "inactivekeys" not in status
    await assert_store(ds, again.config)
    await again.close()
    await ds.close()
