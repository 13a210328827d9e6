"""The reload controller: new valid content swaps transformers; invalid content is
rejected once, logged with upstream's message, and the old transformers stay."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kcrypt.config import build_snapshot, config_hash, dump_json, generate
from kcrypt.server.metrics import ReloadMetrics, apiserver_id_hash
from kcrypt.server.reload import ReloadController, ReloadOutcome


class RecordingRegistry:
    def __init__(self) -> None:
        self.swapped: list[object] = []

    def swap(self, transformers: object, /) -> None:
        self.swapped.append(transformers)


ID_HASH = apiserver_id_hash("kcrypt-t")


def sample(registry: CollectorRegistry, status: str) -> float:
    value = registry.get_sample_value(
        "apiserver_encryption_config_controller_automatic_reloads_total",
        {"status": status, "apiserver_id_hash": ID_HASH},
    )
    return value or 0.0


@dataclass
class Rig:
    path: Path
    registry: RecordingRegistry
    prom: CollectorRegistry
    controller: ReloadController


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    path = tmp_path / "config.json"
    path.write_bytes(dump_json(generate("aescbc", key_name="k1")))
    registry = RecordingRegistry()
    prom = CollectorRegistry()
    controller = ReloadController(
        path,
        registry=registry,
        metrics=ReloadMetrics(prom, apiserver_id="kcrypt-t"),
        applied_hash=config_hash(path.read_bytes()),
        interval=0.1,
        build=build_snapshot,
    )
    return Rig(path, registry, prom, controller)


def test_unchanged_content_does_nothing(rig: Rig) -> None:
    registry, prom, controller = rig.registry, rig.prom, rig.controller
    assert controller.check().outcome is ReloadOutcome.UNCHANGED
    assert registry.swapped == []
    assert sample(prom, "success") == 0


def test_new_valid_content_is_swapped_in_and_counted(rig: Rig) -> None:
    path, registry, prom, controller = rig.path, rig.registry, rig.prom, rig.controller
    path.write_bytes(dump_json(generate("secretbox", key_name="k2")))
    result = controller.check()
    assert result.outcome is ReloadOutcome.RELOADED
    assert result.hash == config_hash(path.read_bytes()) == controller.applied_hash
    assert len(registry.swapped) == 1
    assert sample(prom, "success") == 1
    assert (
        prom.get_sample_value(
            "apiserver_encryption_config_controller_last_config_info",
            {"apiserver_id_hash": ID_HASH, "hash": result.hash},
        )
        == 1
    )


def test_invalid_content_keeps_the_old_config_and_is_reported_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    path, registry, prom, controller = rig.path, rig.registry, rig.prom, rig.controller
    old_hash = controller.applied_hash
    path.write_text(
        '{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
        '"resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":'
        '[{"name":"k","secret":"dG9vLXNob3J0"}]}}]}]}'
    )
    with caplog.at_level(logging.ERROR, logger="kcrypt.server.reload"):
        first = controller.check()
        second = controller.check()
    assert first.outcome is ReloadOutcome.FAILED and first.hash == old_hash
    assert first.error is not None and "secret is not of the expected length" in first.error
    assert second.outcome is ReloadOutcome.FAILED and second.error == first.error
    assert registry.swapped == []
    assert sample(prom, "failure") == 1
    (record,) = caplog.records
    assert str(path) in record.getMessage()
    assert "dG9vLXNob3J0" not in record.getMessage()

    path.write_bytes(dump_json(generate("aesgcm", key_name="k3")))
    assert controller.check().outcome is ReloadOutcome.RELOADED
    assert sample(prom, "success") == 1


def test_a_deleted_file_is_a_failure_and_the_old_config_stays(rig: Rig) -> None:
    path, registry, prom, controller = rig.path, rig.registry, rig.prom, rig.controller
    path.unlink()
    assert controller.check().outcome is ReloadOutcome.FAILED
    assert controller.check().outcome is ReloadOutcome.FAILED
    assert sample(prom, "failure") == 1
    assert registry.swapped == []
