"""``on_key_removed``: called once a pass's key removal is saved (the server compacts there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import EncryptionService, parse_config

from .test_procedures import first_boot, seed_values


async def _service(tmp_path: Path, hook: object) -> EncryptionService:
    path = tmp_path / "cred/encryption-config.json"
    boot = first_boot(path)
    ds = await open_datastore("memory://")
    await seed_values(ds, config=boot)
    svc = EncryptionService(
        ds,
        config_path=path,
        node_name="node-1",
        apply_config=lambda data: None,
        on_key_removed=hook,  # type: ignore[arg-type]
        page_size=25,
    )
    await svc.start()
    return svc


async def test_called_after_the_removal_is_saved_and_only_then(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []
    svc: EncryptionService

    async def hook() -> None:
        status = await svc.status()
        seen.append((status["stage"], len(parse_config(svc.config_path.read_bytes()).all_keys())))

    svc = await _service(tmp_path, hook)
    for stage in ("prepare", "rotate"):
        await svc.apply({"stage": stage, "force": False, "skip": False})
        await svc.wait_idle()
    await svc.apply({"stage": "reencrypt_active", "force": False, "skip": True})
    await svc.wait_idle()
    assert seen == []  # --skip keeps every key: nothing to compact
    await svc.apply({"stage": "reencrypt_active", "force": False, "skip": False})
    await svc.wait_idle()
    assert seen == [("reencrypt_finished", 1)]


async def test_a_failing_hook_changes_nothing_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def hook() -> None:
        raise RuntimeError("compaction refused")

    svc = await _service(tmp_path, hook)
    await svc.apply({"stage": "rotate_keys", "force": False, "skip": False})
    await svc.wait_idle()
    status = await svc.status()
    assert status["stage"] == "reencrypt_finished" and "reencrypt" not in status
    assert "after removing the old key: compaction refused" in caplog.text
