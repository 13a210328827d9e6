"""The seed's HA procedures on 3 servers over a 3-member etcd, under load.

Seed, "Encryption Key Rotation Classic" (HA): prepare on S1, restart all,
rotate, restart all, reencrypt, restart all; then "New Encryption Key
Rotation" (rotate-keys). A writer creates and updates secrets through all
three servers while one reader per server lists them: no server answers an
error at any point, every raw value ends under the new key, and every
secret reads back with its latest content from every server.
"""

from __future__ import annotations

import json
import re
import signal
import time

from e2e.harness import KcryptServer, wait_until
from e2e.secrets_support import keys_in_status

from .harness import TOKEN, HACluster, Load, assert_raw_under, read_back_everywhere, server_args


def test_status_lists_every_server_and_all_hashes_match(ha: HACluster) -> None:
    doc = ha.wait_converged()
    assert [s["name"] for s in doc["servers"]] == ["s1", "s2", "s3"]
    assert {s["hash"] for s in doc["servers"]} == {doc["configHash"]}
    assert list(doc)[:4] == ["stage", "activekey", "enable", "hashmatch"]
    text = ha.cli(1).text()
    lines = text.split("\n")
    assert lines[:3] == [
        "Encryption Status: Enabled",
        "Current Rotation Stage: start",
        "Server Encryption Hashes: All hashes match",
    ]
    assert "Server  State  Stage  Hash          Last Seen" in lines
    assert any(line.startswith("s3      live   start  " + doc["configHash"][:12]) for line in lines)


def test_classic_then_rotate_keys_under_load(ha: HACluster) -> None:
    ha.wait_converged()
    with Load(ha) as load:
        wait_until(lambda: load.writes > 20 and load.reads > 6)
        assert ha.cli(0).ok("prepare").strip() == "prepare completed successfully"
        ha.restart_all()
        assert ha.cli(1).ok("rotate").strip() == "rotate completed successfully"
        ha.restart_all()
        assert ha.cli(2).ok("reencrypt", "--wait").strip() == "reencryption finished"
        doc = ha.wait_converged()
        assert doc["stage"] == "reencrypt_finished"
        classic_key, names = keys_in_status(doc)
        assert names == [classic_key]
        ha.restart_all()
        out = ha.cli(1).ok("rotate-keys")
        assert out.strip() == "keys rotated, reencryption finished"
        doc = ha.wait_converged()
        writes = load.writes
        wait_until(lambda: load.writes > writes + 20)
    assert not load.errors, load.errors[:5]
    assert load.reads > 100 and load.writes > 100  # the load really ran all along
    active, names = keys_in_status(doc)
    assert doc["stage"] == "reencrypt_finished" and names == [active] and active != classic_key
    raw = assert_raw_under(ha, active, names)
    assert len(raw) >= len(load.latest) > 10
    read_back_everywhere(ha, load.latest)


def test_a_down_server_is_named_as_down_and_stage_commands_refuse(ha: HACluster) -> None:
    ha.wait_converged()
    s3 = ha.servers[2]
    assert s3.process is not None
    s3.process.send_signal(signal.SIGSTOP)
    try:
        doc = wait_until(
            lambda: (
                (d := ha.cli(0).status())
                and any(s["state"] == "down" for s in d.get("servers", []))
                and d
            ),
            timeout=30,
        )
        # every hash matches: the real reason is that s3 is down, and since when
        down = re.compile(r"^s3 is down \(last seen \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$")
        assert down.match(doc["hasherror"]), doc["hasherror"]
        assert "hash does not match" not in doc["hasherror"] and "hashmatch" not in doc
        assert [s["state"] for s in doc["servers"]] == ["live", "live", "down"]
        text = ha.cli(1).text()
        assert "Server Encryption Hashes: s3 is down (last seen " in text
        assert any(line.startswith("s3      down") for line in text.split("\n"))
        err = ha.cli(0).fail("prepare")
        assert "s3 is down (last seen " in err
        assert ha.cli(0).status()["stage"] == doc["stage"]
        assert ha.cli(0).ok("prepare", "--force").strip() == "prepare completed successfully"
    finally:
        s3.process.send_signal(signal.SIGCONT)
    doc = ha.wait_converged()  # s3 comes back, renews its lease and applies the new config
    assert doc["stage"] == "prepare"
    # back to a normal cluster for the next tests
    ha.cli(2).ok("rotate")
    ha.cli(2).ok("reencrypt", "--wait")
    assert ha.wait_converged()["stage"] == "reencrypt_finished"


def test_joining_with_a_wrong_token_or_provider_refuses_to_start(ha: HACluster) -> None:
    wrong = [a if a != TOKEN else "not-the-cluster-token" for a in server_args(ha.etcd, "s4")]
    s4 = KcryptServer(ha.base / "s4", args=wrong)
    failed = _start_fails(s4)
    assert "Error: the token does not match the cluster's encryption state" in failed
    s5 = KcryptServer(
        ha.base / "s5",
        args=server_args(ha.etcd, "s5", "--secrets-encryption-provider", "aesgcm"),
    )
    failed = _start_fails(s5)
    assert (
        "Error: critical configuration value mismatch between servers: "
        "--secrets-encryption-provider is aesgcm on this server but aescbc in the cluster"
    ) in failed
    for log in (s4.log(), s5.log()):
        assert TOKEN not in log and "not-the-cluster-token" not in log
    doc = ha.wait_converged()
    assert [s["name"] for s in doc["servers"]] == ["s1", "s2", "s3"]


def _start_fails(server: KcryptServer) -> str:
    try:
        server.start()
    except AssertionError as exc:
        return str(exc)
    server.stop()
    raise AssertionError("the server started")


def test_restarting_every_server_keeps_one_state(ha: HACluster) -> None:
    before = ha.wait_converged()
    time.sleep(0.1)
    ha.restart_all()
    after = ha.wait_converged()
    assert after["configHash"] == before["configHash"] and after["stage"] == before["stage"]


def test_a_hand_edited_file_is_reported_and_overwrites_neither_side(ha: HACluster) -> None:
    doc = ha.wait_converged()
    s3 = ha.servers[2]
    path = s3.data_dir / "server" / "cred" / "encryption-config.json"
    assert s3.stop() == 0
    cluster_config = path.read_bytes()
    edited = json.loads(cluster_config)
    edited["resources"][0]["providers"].reverse()  # valid, but not the cluster's
    path.write_text(json.dumps(edited))
    s3.start()
    assert "changed by hand" in s3.log()
    assert json.loads(path.read_bytes()) == edited  # the file is not overwritten ...
    after = ha.cli(0).status()
    assert after["configHash"] == doc["configHash"]  # ... nor is the datastore
    assert after["hasherror"] == "hash does not match between s1 and s3"
    row = after["servers"][2]
    assert row["state"] == "live" and not row["applied"] and "changed by hand" in row["conflict"]
    assert "s3      live (local file changed by hand)" in ha.cli(0).text()
    assert "hash does not match between s1 and s3" in ha.cli(1).fail("prepare")

    path.unlink()  # the documented resolution, no restart needed
    doc = ha.wait_converged()
    assert path.read_bytes() == cluster_config and "conflict" not in doc["servers"][2]
