"""Real Kubernetes data: api testdata and integration-test values decode and re-encode exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcrypt.codec import StoredObject, decode_message, decode_storage, encode_storage

VERSIONS = ("HEAD", "v1.33.0", "v1.36.0")
KINDS = ("Secret", "ConfigMap", "Namespace")
CASES = [(v, k) for v in VERSIONS for k in KINDS]


def _pb(fixtures: Path, version: str, kind: str) -> bytes:
    return (fixtures / "api-testdata" / version / f"core.v1.{kind}.pb").read_bytes()


def _json(fixtures: Path, version: str, kind: str) -> dict[str, object]:
    text = (fixtures / "api-testdata" / version / f"core.v1.{kind}.json").read_text()
    loaded: dict[str, object] = json.loads(text)
    return loaded


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_stored_object_round_trip_is_byte_exact(
    k8s_fixtures: Path, version: str, kind: str
) -> None:
    data = _pb(k8s_fixtures, version, kind)
    obj = decode_message(data)
    assert obj.kind == kind
    assert obj.api_version == "v1"
    assert obj.to_bytes() == data


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_dict_round_trip_is_byte_exact(k8s_fixtures: Path, version: str, kind: str) -> None:
    data = _pb(k8s_fixtures, version, kind)
    assert encode_storage(decode_storage(data)) == data


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_protobuf_decodes_to_the_json_fixture(k8s_fixtures: Path, version: str, kind: str) -> None:
    expected = _json(k8s_fixtures, version, kind)
    decoded = decode_storage(_pb(k8s_fixtures, version, kind))
    assert decoded == expected
    # Same field order as kube-apiserver's encoding/json output.
    assert json.dumps(decoded) == json.dumps(expected)


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_json_fixture_encodes_to_the_protobuf_fixture(
    k8s_fixtures: Path, version: str, kind: str
) -> None:
    obj = StoredObject.from_json(_json(k8s_fixtures, version, kind))
    assert obj.to_bytes() == _pb(k8s_fixtures, version, kind)


def test_integration_old_secret(k8s_fixtures: Path) -> None:
    data = (k8s_fixtures / "vectors" / "integration-oldSecret.pb").read_bytes()
    obj = decode_message(data)
    assert obj.to_bytes() == data  # includes the removed clusterName field, kept as unknown
    secret = obj.to_json()
    assert secret["metadata"]["name"] == "test-secret"
    assert secret["metadata"]["namespace"] == "secret-encryption-test"
    assert secret["metadata"]["creationTimestamp"] == "2019-12-10T16:57:08Z"
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"api_key": "8J+kl/CfkLw="}  # UTF-8 of the hugging face + panda


@pytest.mark.parametrize(
    "name",
    ["dek-source-aes-gcm-key", "dek-source-hkdf-sha256-xnonce-aes-gcm-seed"],
)
def test_kmsv2_legacy_decrypted_secrets(k8s_fixtures: Path, name: str) -> None:
    data = (k8s_fixtures / "vectors" / "kmsv2-legacy-etcd" / f"{name}.decrypted.pb").read_bytes()
    secret = decode_storage(data)
    assert secret["metadata"]["name"] == name
    assert secret["metadata"]["namespace"] == "kms-v2-legacy-data"
    assert secret["data"] == {"api_key": "MDg2YTdmZmMtMDIyNS0xMWU4LWJhODktMGVkNWY4OWY3MThi"}
    entry = secret["metadata"]["managedFields"][0]
    assert entry["operation"] == "Update"
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:api_key": {}}, "f:type": {}}
    assert encode_storage(secret) == data
    assert decode_message(data).to_bytes() == data
