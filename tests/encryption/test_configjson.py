"""k3s's encryption-config.json: the exact bytes kcrypt writes, and what it refuses to manage."""

from __future__ import annotations

import json

import pytest

from kcrypt.encryption import UnsupportedConfig, parse_config, render_config
from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.sensitive import SecretBytes


def test_rendered_bytes_are_k3s_layout_and_round_trip() -> None:
    config = KeyConfig(
        (
            ProviderKeys("aescbc", (ConfigKey("aescbckey", SecretBytes(b"\x01" * 32)),)),
            ProviderKeys("identity"),
        )
    )
    data = render_config(config)
    assert data == (
        b'{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
        b'"resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[{"name":"aescbckey",'
        b'"secret":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}]}},{"identity":{}}]}]}'
    )
    assert render_config(parse_config(data)) == data


def test_kms_configs_are_not_managed() -> None:
    doc = {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [{"kms": {"name": "x", "endpoint": "unix:///x"}}],
            }
        ],
    }
    with pytest.raises(UnsupportedConfig, match=r"^unsupported encryption keys found$"):
        parse_config(json.dumps(doc).encode())
