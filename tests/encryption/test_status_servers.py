"""``status`` beyond k3s: the per-server table (text) and ``servers`` (JSON) in a cluster."""

from __future__ import annotations

import calendar
import json
import time

from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.encryption.servers import ServerRecord, ServerView
from kcrypt.encryption.status import render_json, render_text, server_rows, status_document
from kcrypt.sensitive import SecretBytes

H1, H2 = "a" * 64, "b" * 64
SEEN = calendar.timegm(time.strptime("2026-11-22T18:40:00", "%Y-%m-%dT%H:%M:%S"))
CONFIG = KeyConfig(
    (
        ProviderKeys("aescbc", (ConfigKey("aescbckey", SecretBytes(bytes(32))),)),
        ProviderKeys("identity"),
    )
)


def view(node: str, h: str, *, live: bool = True, conflict: str = "") -> ServerView:
    return ServerView(ServerRecord(node, h, "start", last_seen=SEEN, conflict=conflict), live)


def test_three_servers_one_down_in_text_and_json() -> None:
    servers = [view("s2", H1), view("s1", H1), view("s3", H1, live=False)]
    rows = server_rows(servers, desired=H1)
    doc = status_document(
        CONFIG,
        "start",
        annotations={},
        hash_error="hash does not match between s1 and s3",
        servers=rows,
        config_hash=H1,
    )
    assert list(doc) == ["stage", "activekey", "enable", "hasherror", "servers", "configHash"]
    assert [r["name"] for r in doc["servers"]] == ["s1", "s2", "s3"]
    assert doc["servers"][2] == {
        "name": "s3",
        "state": "down",
        "stage": "start",
        "hash": H1,
        "applied": False,
        "lastSeen": "2026-11-22T18:40:00Z",
        "version": ServerRecord("x").version,
    }
    assert render_text(doc) == (
        "Encryption Status: Enabled\n"
        "Current Rotation Stage: start\n"
        "Server Encryption Hashes: hash does not match between s1 and s3\n"
        "\n"
        "Active  Key Type  Name\n"
        "------  --------  ----\n"
        " *      AES-CBC   aescbckey\n"
        "\n"
        "Server  State  Stage  Hash          Last Seen\n"
        "------  -----  -----  ----          ---------\n"
        "s1      live   start  aaaaaaaaaaaa  2026-11-22T18:40:00Z\n"
        "s2      live   start  aaaaaaaaaaaa  2026-11-22T18:40:00Z\n"
        "s3      down   start  aaaaaaaaaaaa  2026-11-22T18:40:00Z\n"
        "\n"
    )
    assert json.loads(render_json(doc))["servers"][0]["applied"] is True


def test_a_conflict_is_named_in_both_forms() -> None:
    rows = server_rows([view("s1", H1), view("s2", H2, conflict="changed by hand")], desired=H1)
    assert rows[1]["conflict"] == "changed by hand" and not rows[1]["applied"]
    doc = status_document(CONFIG, "start", annotations={}, hash_error="x", servers=rows)
    assert "s2      live (local file changed by hand)  start  bbbbbbbbbbbb" in render_text(doc)


def test_without_servers_the_document_is_k3s_s_own() -> None:
    doc = status_document(CONFIG, "start", annotations={"n": "start-h"}, hash_error=None)
    assert doc == {
        "stage": "start",
        "activekey": "AES-CBC aescbckey",
        "enable": True,
        "hashmatch": True,
    }
    assert "Server  State" not in render_text(doc)
