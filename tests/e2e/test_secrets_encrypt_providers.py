"""Every generated-key provider through ``secrets-encrypt``, and switching provider.

k3s switches provider only through ``rotate-keys`` after restarting every
server with a different ``--secrets-encryption-provider``; kcrypt does the
same, for aescbc, aesgcm and secretbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import require_tools
from .secrets_support import Setup, keys_in_status

KEY_TYPES = {"aescbc": "AES-CBC", "aesgcm": "AES-GCM", "secretbox": "XSalsa20-POLY1305"}
FAST = ["--reload-interval", "0.2"]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    require_tools("kubectl", "sqlite3")
    return tmp_path


@pytest.fixture
def setups() -> Iterator[list[Setup]]:
    made: list[Setup] = []
    yield made
    for s in made:
        s.stop()


def with_provider(provider: str) -> list[str]:
    return ["--secrets-encryption", "--secrets-encryption-provider", provider, *FAST]


@pytest.mark.parametrize("provider", ["aescbc", "aesgcm", "secretbox"])
def test_rotate_keys_with_each_provider(provider: str, base: Path, setups: list[Setup]) -> None:
    s = Setup(base, with_provider(provider))
    setups.append(s)
    s.add(8, provider)
    doc = s.cli.status()
    assert doc["activekey"] == f"{KEY_TYPES[provider]} {provider}key"
    s.check(f"{provider}key")
    assert f" *      {KEY_TYPES[provider]}" in s.cli.text()

    assert s.cli.ok("rotate-keys").strip() == "keys rotated, reencryption finished"
    doc = s.cli.status()
    active, names = keys_in_status(doc)
    assert doc["stage"] == "reencrypt_finished"
    assert active.startswith(f"{provider}key-") and names == [active]
    assert doc["activekey"] == f"{KEY_TYPES[provider]} {active}"
    s.check(active)
    s.restart()
    assert s.cli.status() == doc
    s.add(2, f"{provider}-after")
    s.check(active)


def test_switching_provider_through_rotate_keys(base: Path, setups: list[Setup]) -> None:
    s = Setup(base, with_provider("aescbc"))
    setups.append(s)
    s.add(8, "switch")
    s.check("aescbckey")
    for provider in ("secretbox", "aesgcm", "aescbc"):
        s.restart(with_provider(provider))
        before = s.cli.status()
        assert before["enable"] is True  # the restart alone changes nothing
        s.cli.ok("rotate-keys")
        doc = s.cli.status()
        active, names = keys_in_status(doc)
        assert active.startswith(f"{provider}key-")
        assert names == [active], "the old provider's key left the config after the pass"
        s.check(active)


def test_classic_stages_refuse_secretbox_with_k3s_message(base: Path, setups: list[Setup]) -> None:
    s = Setup(base, with_provider("secretbox"))
    setups.append(s)
    for command in ("prepare", "rotate"):
        err = s.cli.fail(command, "--force")
        assert err.strip() == (
            f"Error: {command} does not support secretbox key type, use rotate-keys instead"
        )
