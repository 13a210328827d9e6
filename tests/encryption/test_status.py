"""``status`` compared line by line with the seed's examples; JSON field by field."""

from __future__ import annotations

import json

from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.encryption.status import render_json, render_text, status_document
from kcrypt.sensitive import SecretBytes


def keys(kind: str, *names: str) -> ProviderKeys:
    return ProviderKeys(kind, tuple(ConfigKey(n, SecretBytes(bytes(32))) for n in names))


IDENTITY = ProviderKeys("identity")

SEED_SINGLE = """\
Encryption Status: Enabled
Current Rotation Stage: start
Server Encryption Hashes: All hashes match

Active  Key Type  Name
------  --------  ----
 *      AES-CBC   aescbckey
"""

SEED_HA = """\
Encryption Status: Enabled
Current Rotation Stage: rotate
Server Encryption Hashes: hash does not match between node-1 and node-2

Active  Key Type  Name
------  --------  ----
 *      AES-CBC   aescbckey-2021-12-10T22:54:38Z
        AES-CBC   aescbckey
"""


def test_single_server_example_from_the_seed() -> None:
    doc = status_document(
        KeyConfig((keys("aescbc", "aescbckey"), IDENTITY)),
        "start",
        annotations={"node-1": "start-abc"},
    )
    out = render_text(doc)
    # fmt.Println adds the trailing blank line
    assert out.splitlines() == [*SEED_SINGLE.splitlines(), ""]
    assert out.endswith("\n\n")


def test_ha_example_from_the_seed() -> None:
    config = KeyConfig((keys("aescbc", "aescbckey-2021-12-10T22:54:38Z", "aescbckey"), IDENTITY))
    doc = status_document(
        config, "rotate", annotations={"node-1": "rotate-h2", "node-2": "prepare-h1", "node-3": ""}
    )
    assert render_text(doc).splitlines() == [*SEED_HA.splitlines(), ""]
    assert list(doc) == ["stage", "activekey", "enable", "hasherror", "inactivekeys"]
    assert doc["stage"] == "rotate"
    assert doc["activekey"] == "AES-CBC aescbckey-2021-12-10T22:54:38Z"
    assert doc["enable"] is True
    assert "hashmatch" not in doc  # false is omitted, as Go's omitempty
    assert doc["hasherror"] == "hash does not match between node-1 and node-2"
    assert doc["inactivekeys"] == ["AES-CBC aescbckey"]
    assert render_json(doc) == (
        '{\n\t"stage": "rotate",\n\t"activekey": "AES-CBC aescbckey-2021-12-10T22:54:38Z",\n'
        '\t"enable": true,\n\t"hasherror": "hash does not match between node-1 and node-2",\n'
        '\t"inactivekeys": [\n\t\t"AES-CBC aescbckey"\n\t]\n}'
    )


def test_disabled_lists_every_key_inactive() -> None:
    doc = status_document(
        KeyConfig((IDENTITY, keys("aescbc", "aescbckey"))), "start", annotations={"n": "x"}
    )
    assert doc["enable"] is False and doc["activekey"] == "" and doc["hashmatch"] is True
    lines = render_text(doc).splitlines()
    assert lines[0] == "Encryption Status: Disabled"
    assert lines[-2] == "        AES-CBC   aescbckey"


def test_secretbox_type_column_widens() -> None:
    config = KeyConfig(
        (
            keys("secretbox", "secretboxkey-2025-04-07T10:00:00Z"),
            keys("aescbc", "aescbckey"),
            IDENTITY,
        )
    )
    lines = render_text(status_document(config, "reencrypt_active", annotations={})).splitlines()
    assert lines[4:8] == [
        "Active  Key Type           Name",
        "------  --------           ----",
        " *      XSalsa20-POLY1305  secretboxkey-2025-04-07T10:00:00Z",
        "        AES-CBC            aescbckey",
    ]


def test_no_config_is_one_line() -> None:
    doc = status_document(None, "", annotations={})
    assert doc == {"stage": "", "activekey": ""}
    assert render_text(doc) == "Encryption Status: Disabled, no configuration file found\n"


def test_identity_only_prints_no_table() -> None:
    out = render_text(status_document(KeyConfig((IDENTITY,)), "start", annotations={}))
    assert out == (
        "Encryption Status: Disabled\nCurrent Rotation Stage: start\n"
        "Server Encryption Hashes: All hashes match\n\n"
    )


def test_progress_line_while_a_pass_runs() -> None:
    progress = {
        "running": True,
        "total": 100000,
        "done": 25000,
        "rewritten": 25000,
        "skipped": 3,
        "failed": 0,
        "rate": 12500.0,
        "eta": 6.0,
        "finished": False,
    }
    doc = status_document(
        KeyConfig((keys("aescbc", "k1", "k0"), IDENTITY)),
        "reencrypt_active",
        annotations={},
        progress=progress,
    )
    lines = render_text(doc).splitlines()
    assert lines[3] == (
        "Reencryption Progress: 25000/100000 secrets (25.0%), 12500/s, ETA 6s, "
        "3 skipped (written concurrently)"
    )
    assert lines[4] == ""
    assert json.loads(render_json(doc))["reencrypt"]["done"] == 25000
