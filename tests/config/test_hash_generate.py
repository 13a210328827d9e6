"""Config hash vector and generate -> dump -> load round trips."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kcrypt.config import (
    KeyConfiguration,
    config_hash,
    dump_json,
    dump_yaml,
    generate,
    load,
    load_file,
)


def test_config_hash_vector(k8s_fixtures: Path) -> None:
    vector = json.loads((k8s_fixtures / "vectors" / "config-hash.json").read_text())
    case = vector["cases"][0]
    raw = (k8s_fixtures / case["file"]).read_bytes()
    assert config_hash(raw) == case["hash"]
    assert load_file(k8s_fixtures / case["file"]).hash == case["hash"]


@pytest.mark.parametrize("provider", ["aescbc", "aesgcm", "secretbox"])
@pytest.mark.parametrize("dump", [dump_json, dump_yaml])
def test_generate_dump_load_round_trip(provider: str, dump: object) -> None:
    config = generate(provider, key_name="k1", resources=("secrets", "configmaps"))
    data = dump(config)  # type: ignore[operator]
    loaded = load(data)
    assert loaded.config == config
    entry = loaded.config.resources[0]
    assert entry.resources == ("secrets", "configmaps")
    first, last = entry.providers
    keys = getattr(first, provider).keys
    assert [k.name for k in keys] == ["k1"]
    assert len(base64.b64decode(keys[0].secret)) == 32
    assert last.identity is not None


def test_keys_are_fresh() -> None:
    a = generate(key_name="k").resources[0].providers[0].aescbc
    b = generate(key_name="k").resources[0].providers[0].aescbc
    assert a is not None and b is not None
    assert a.keys[0].secret != b.keys[0].secret


def test_dump_json_is_k3s_shaped() -> None:
    config = generate("aescbc", key_name="aescbckey")
    secret = config.resources[0].providers[0].aescbc.keys[0].secret  # type: ignore[union-attr]
    assert (
        dump_json(config)
        == (
            '{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
            '"resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":'
            f'[{{"name":"aescbckey","secret":"{secret}"}}]}}}},{{"identity":{{}}}}]}}]}}'
        ).encode()
    )


def test_without_identity() -> None:
    config = generate("secretbox", key_name="s", identity_last=False)
    assert len(config.resources[0].providers) == 1


def test_fixture_round_trips_through_dump(k8s_fixtures: Path) -> None:
    path = k8s_fixtures / "encryptionconfig/config-testdata/valid-configs/aes-gcm-first.yaml"
    config = load_file(path).config
    assert load(dump_json(config)).config == config
    assert load(dump_yaml(config)).config == config


def test_key_repr_hides_secret() -> None:
    key = KeyConfiguration("k", "c2VjcmV0IGlzIHNlY3VyZQ==")
    assert "c2Vjc" not in repr(key)
    config = generate(key_name="k")
    secret = config.resources[0].providers[0].aescbc.keys[0].secret  # type: ignore[union-attr]
    assert secret not in repr(config)
    assert secret not in repr(load(dump_json(config)))
