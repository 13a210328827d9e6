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


def _doc(resources: object, providers: object) -> bytes:
    return json.dumps(
        {
            "kind": "EncryptionConfiguration",
            "apiVersion": "apiserver.config.k8s.io/v1",
            "resources": [{"resources": resources, "providers": providers}],
        }
    ).encode()


AESCBC = {
    "aescbc": {"keys": [{"name": "k1", "secret": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}]}
}


def test_every_resource_of_the_entry_is_rendered_back() -> None:
    """A config over secrets and configmaps keeps configmaps: dropping them would strand
    the configmaps encrypted under a key that later leaves the config."""
    data = _doc(["secrets", "configmaps"], [AESCBC, {"identity": {}}])
    parsed = parse_config(data)
    assert parsed.resources == ("secrets", "configmaps")
    rendered = json.loads(render_config(parsed))
    assert rendered["resources"][0]["resources"] == ["secrets", "configmaps"]
    assert json.loads(render_config(parse_config(render_config(parsed)))) == rendered


@pytest.mark.parametrize(
    ("resources", "providers"),
    [
        (["*.*"], [AESCBC]),
        (["secrets", "*."], [AESCBC]),
        (["secrets"], [{"aescbc": {"keys": [], "extra": 1}}]),
        (["secrets"], [{"identity": {"x": 1}}]),
        (["secrets"], [{"aescbc": {"keys": [{"name": "k", "secret": "AA==", "x": 1}]}}]),
    ],
)
def test_what_cannot_be_rendered_back_is_refused(resources: object, providers: object) -> None:
    with pytest.raises(UnsupportedConfig):
        parse_config(_doc(resources, providers))


def test_two_entries_are_refused() -> None:
    doc = json.loads(_doc(["secrets"], [AESCBC]))
    doc["resources"].append({"resources": ["configmaps"], "providers": [{"identity": {}}]})
    with pytest.raises(UnsupportedConfig):
        parse_config(json.dumps(doc).encode())
