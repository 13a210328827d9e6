"""``--secrets-encryption``'s generated config: k3s's layout, written once."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from kcrypt.config import load_file
from kcrypt.server.encryption_files import ensure_encryption_config


@pytest.mark.parametrize(
    ("provider", "key_name"),
    [("aescbc", "aescbckey"), ("aesgcm", "aesgcmkey"), ("secretbox", "secretboxkey")],
)
def test_first_start_writes_one_named_key_then_identity(
    tmp_path: Path, provider: str, key_name: str
) -> None:
    path = tmp_path / "cred" / "encryption-config.json"
    assert ensure_encryption_config(path, provider=provider)  # type: ignore[arg-type]
    raw = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert raw.startswith(
        b'{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
        b'"resources":[{"resources":["secrets"],"providers":[{"' + provider.encode()
    )
    doc = json.loads(raw)
    providers = doc["resources"][0]["providers"]
    assert providers[1] == {"identity": {}}
    (key,) = providers[0][provider]["keys"]
    assert key["name"] == key_name
    assert len(base64.b64decode(key["secret"])) == 32
    load_file(path)  # valid by kube-apiserver's rules


def test_a_later_start_keeps_the_existing_keys(tmp_path: Path) -> None:
    path = tmp_path / "encryption-config.json"
    ensure_encryption_config(path, provider="aescbc")
    before = path.read_bytes()
    assert not ensure_encryption_config(path, provider="secretbox")
    assert path.read_bytes() == before
