"""Bad input is refused before any node is touched, with the reason.

Invalid custom configs come from Kubernetes' own test files (the
``k8s_fixtures`` fixture) and must fail with kube-apiserver's message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .cluster import RkeCluster

ENC = "encryptionconfig"
CASES = [
    "invalid-configs/invalid-aes-gcm.yaml",
    "invalid-configs/invalid-typo.yaml",
    "invalid-configs/kms/invalid-apiversion.yaml",
    "invalid-configs/kms/invalid-config-type.yaml",
    "invalid-configs/kms/invalid-gvk.yaml",
]


@pytest.fixture
def one(single: RkeCluster) -> RkeCluster:
    return single


def _upstream_error(k8s_fixtures: Path, case: str) -> str:
    cases = json.loads((k8s_fixtures / ENC / "expected-errors.json").read_text())
    for c in cases["asserted_by_upstream_tests"]:
        if c["file"] == f"{ENC}/config-testdata/{case}":
            return str(c.get("derived_full_error") or c["error"])
    raise AssertionError(f"no upstream error for {case}")


@pytest.mark.parametrize("case", CASES)
def test_invalid_custom_config_is_refused_with_upstreams_message(
    one: RkeCluster, k8s_fixtures: Path, case: str
) -> None:
    custom = yaml.safe_load((k8s_fixtures / ENC / "config-testdata" / case).read_text())
    before = one.config_file(0).read_bytes()
    hash_before = one.loaded_hash(0)
    one.write_cluster_yml({"enabled": True, "custom_config": custom})
    proc = one.kcrypt("up", check=False)
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.startswith(
        "Error: services.kube-api.secrets_encryption_config.custom_config is not a valid "
        "EncryptionConfiguration: "
    )
    assert _upstream_error(k8s_fixtures, case) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    # no node touched, nothing planned
    assert one.config_file(0).read_bytes() == before
    assert one.loaded_hash(0) == hash_before
    assert not one.state().get("kcrypt", {}).get("operation")


def test_a_misspelt_field_is_refused_not_read_as_encryption_removed(one: RkeCluster) -> None:
    one.write_cluster_yml(None)
    text = one.cluster_yml.read_text().replace(
        "kube-api:\n", "kube-api:\n    secret_encryption_config:\n      enabled: true\n"
    )
    one.cluster_yml.write_text(text)
    proc = one.kcrypt("up", check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        "Error: services.kube-api.secret_encryption_config: unknown field "
        "(not a field of RKE's cluster.yml; check its spelling)\n"
    )


def test_missing_cluster_file_names_it(one: RkeCluster) -> None:
    one.cluster_yml.unlink(missing_ok=True)
    proc = one.kcrypt("up", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: can not read cluster file {one.cluster_yml}")
