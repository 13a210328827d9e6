"""The seed's single-server ``secrets-encrypt`` procedures on a real server (SQLite).

Every step is the operator's: kubectl creates the secrets, the CLI runs as a
subprocess, the server is restarted where the seed says "restart". After
each step the raw store is read with the sqlite3 CLI (every secret under the
expected key, none plaintext while enabled, all plaintext after disable and
reencrypt) and every secret reads back unchanged through kubectl.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcrypt.config import config_hash

from .harness import KcryptServer, require_tools, wait_until
from .secrets_support import (
    Cli,
    Setup,
    config_on_disk,
    keys_in_status,
    normalise_key_times,
    seed_status_examples,
    sqlite_secrets,
)

N = 12


@pytest.fixture
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    require_tools("kubectl", "sqlite3")
    args = getattr(request, "param", ["--secrets-encryption", "--reload-interval", "0.2"])
    s = Setup(tmp_path, list(args))
    try:
        yield s
    finally:
        s.stop()


def table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    return (
        lines[lines.index("Active  Key Type  Name") + 2 :]
        if "Active  Key Type  Name" in lines
        else []
    )


# ---- status text and JSON against the seed ---------------------------------------------


def test_classic_prepare_rotate_reencrypt_with_restarts(setup: Setup) -> None:
    """Seed: "Encryption Key Rotation Classic", single server, restarts included."""
    examples = seed_status_examples()
    setup.add(N, "classic")

    # start: the seed's first example, byte for byte (the first key has no time)
    text = setup.cli.text()
    assert text.rstrip("\n").split("\n") == examples[2]
    assert text.endswith("aescbckey\n\n")  # fmt.Println's extra blank line
    start_doc = setup.cli.status()
    assert list(start_doc) == ["stage", "activekey", "enable", "hashmatch"]
    assert start_doc == {
        "stage": "start",
        "activekey": "AES-CBC aescbckey",
        "enable": True,
        "hashmatch": True,
    }
    raw_json = setup.cli.ok("status", "-o", "json")
    assert raw_json.startswith('{\n\t"stage": "start",\n\t"activekey": "AES-CBC aescbckey",')
    setup.check("aescbckey")

    # prepare: the new key can decrypt, the old one still encrypts
    assert setup.cli.ok("prepare").strip() == "prepare completed successfully"
    doc = setup.cli.status()
    assert doc["stage"] == "prepare"
    assert doc["activekey"] == "AES-CBC aescbckey"
    (new_key,) = [k.partition(" ")[2] for k in doc["inactivekeys"]]
    assert re.fullmatch(r"aescbckey-" + r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", new_key)
    setup.check("aescbckey")
    setup.restart()
    assert setup.cli.status() == doc
    setup.check("aescbckey")

    # rotate: the new key writes; stored values untouched until reencrypt
    assert setup.cli.ok("rotate").strip() == "rotate completed successfully"
    doc = setup.cli.status()
    assert list(doc) == ["stage", "activekey", "enable", "hashmatch", "inactivekeys"]
    assert doc == {
        "stage": "rotate",
        "activekey": f"AES-CBC {new_key}",
        "enable": True,
        "hashmatch": True,
        "inactivekeys": ["AES-CBC aescbckey"],
    }
    # the seed's rotate example, key times normalised; one server, so the hashes match
    ours = normalise_key_times(setup.cli.text()).rstrip("\n").split("\n")
    seed = [normalise_key_times(line) for line in examples[3]]
    assert len(ours) == len(seed)
    for i, (a, b) in enumerate(zip(ours, seed, strict=True)):
        if b.startswith("Server Encryption Hashes:"):
            assert a == "Server Encryption Hashes: All hashes match"
        else:
            assert a == b, f"line {i}"
    setup.check("aescbckey")
    setup.add(2, "after-rotate")  # new writes use the new key at once
    raw = sqlite_secrets(setup.db)
    assert raw["/registry/secrets/default/after-rotate-001"].startswith(
        f"k8s:enc:aescbc:v1:{new_key}:".encode()
    )
    setup.restart()
    assert setup.cli.status() == doc

    # reencrypt: background pass, then the old key leaves the config
    assert setup.cli.ok("reencrypt").strip() == "reencryption started"
    doc = setup.cli.wait_stage("reencrypt_finished")
    assert doc["activekey"] == f"AES-CBC {new_key}"
    assert "inactivekeys" not in doc
    assert table_rows(setup.cli.text()) == [f" *      AES-CBC   {new_key}", ""]
    setup.check(new_key)
    setup.restart()
    assert setup.cli.wait_stage("reencrypt_finished") == doc
    setup.check(new_key)
    assert b'aescbckey"' not in config_on_disk(setup.server)


def test_rotate_keys_reports_progress_and_the_reload_poll_agrees(setup: Setup) -> None:
    """Seed: "New Encryption Key Rotation", single server; metrics and reloads converge."""
    examples = seed_status_examples()
    setup.add(N, "rk")
    out = setup.cli.run("rotate-keys")
    assert out.stdout.strip() == "keys rotated, reencryption finished"
    text = setup.cli.text()
    assert text.split("\n")[:2] == examples[0] == examples[1]
    doc = setup.cli.status()
    active, names = keys_in_status(doc)
    assert doc["stage"] == "reencrypt_finished" and names == [active]
    assert active.startswith("aescbckey-")
    setup.check(active)

    # progress as metrics: the pass covered every secret
    server = setup.server
    assert server.metric("kcrypt_reencrypt_running") == 0
    assert server.metric("kcrypt_reencrypt_done_objects") == len(setup.secrets)
    assert server.metric("kcrypt_reencrypt_total_objects") == len(setup.secrets)
    assert server.metric("kcrypt_reencrypt_rewritten_objects") == len(setup.secrets)
    # ... and in the log, counts only
    log = server.log()
    assert f"Reencryption Progress: {N}/{N} secrets (100.0%)" in log
    assert "value-" not in log and 'aescbc":{"keys' not in log

    # the live config is the file's, as kube-apiserver's reload metric reports it
    expected = config_hash(config_on_disk(server))
    metric = "apiserver_encryption_config_controller_"
    assert server.metric(metric + "last_config_info", hash=expected) == 1

    setup.restart()
    assert setup.cli.status() == doc
    setup.check(active)
    # a second rotation from reencrypt_finished
    setup.cli.ok("rotate-keys")
    doc2 = setup.cli.status()
    active2, names2 = keys_in_status(doc2)
    assert active2 != active and names2 == [active2]
    setup.check(active2)


def test_disable_then_enable_with_reencrypt_force_skip(setup: Setup) -> None:
    """Seed: "Secrets Encryption Disable/Re-enable", single server."""
    setup.add(N, "toggle")
    setup.check("aescbckey")

    assert setup.cli.ok("disable").strip() == "secrets-encryption disabled"
    doc = setup.cli.status()
    assert doc["enable"] is False and doc["activekey"] == ""
    assert doc["inactivekeys"] == ["AES-CBC aescbckey"]
    text = setup.cli.text()
    assert text.startswith("Encryption Status: Disabled\nCurrent Rotation Stage: start\n")
    assert table_rows(text) == ["        AES-CBC   aescbckey", ""]
    setup.restart()
    assert setup.cli.ok("reencrypt", "--force", "--skip").strip() == "reencryption started"
    doc = setup.cli.wait_stage("start")
    assert doc["enable"] is False
    setup.check("identity")
    setup.add(2, "while-disabled")
    setup.check("identity")

    assert setup.cli.ok("enable").strip() == "secrets-encryption enabled"
    setup.restart()
    setup.cli.ok("reencrypt", "--force", "--skip")
    doc = setup.cli.wait_stage("start")
    assert doc == {
        "stage": "start",
        "activekey": "AES-CBC aescbckey",
        "enable": True,
        "hashmatch": True,
    }
    setup.check("aescbckey")
    # the procedure leaves a normal cluster: a rotation works afterwards
    setup.cli.ok("rotate-keys")
    active, _ = keys_in_status(setup.cli.status())
    setup.check(active)


# ---- a server started without --secrets-encryption --------------------------------------


@pytest.mark.parametrize("setup", [["--reload-interval", "0.2"]], indirect=True)
def test_enable_disable_rotate_keys_without_the_flag(setup: Setup) -> None:
    setup.add(N, "noflag")
    setup.check("identity")
    assert setup.cli.text() == "Encryption Status: Disabled, no configuration file found\n"
    assert setup.cli.status() == {"stage": "", "activekey": ""}
    path = setup.server.data_dir / "server" / "cred" / "encryption-config.json"
    assert not path.exists()

    assert setup.cli.ok("enable").strip() == "secrets-encryption enabled"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = setup.cli.status()
    active, _ = keys_in_status(doc)
    assert doc["enable"] is True and active.startswith("aescbckey-")
    setup.check(active)  # enable's pass already moved every value
    # the server now watches the file it wrote (and reloads nothing: it applied it itself)
    wait_until(lambda: f"watching {path}" in setup.server.log())
    assert setup.server.metric(
        "apiserver_encryption_config_controller_last_config_info",
        hash=config_hash(path.read_bytes()),
    )

    setup.cli.ok("disable")
    setup.check("identity")
    setup.cli.ok("enable")
    setup.check(active)
    setup.cli.ok("rotate-keys")
    doc = setup.cli.status()
    active2, names = keys_in_status(doc)
    assert active2 != active and names == [active2]
    setup.check(active2)

    # restarted still without the flag: the datastore's state keeps encryption on
    path.unlink()
    setup.restart()
    assert setup.cli.status() == doc
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "written from the datastore's state" in setup.server.log()
    setup.add(2, "after-restart")
    setup.check(active2)


@pytest.mark.parametrize("setup", [["--reload-interval", "0.2"]], indirect=True)
def test_the_datastore_state_wins_over_a_changed_file(setup: Setup) -> None:
    setup.cli.ok("enable")
    setup.add(4, "wins")
    path = setup.server.data_dir / "server" / "cred" / "encryption-config.json"
    good = path.read_bytes()
    assert setup.server.stop() == 0
    other = json.loads(good)
    other["resources"][0]["providers"].reverse()  # a valid config, but not the cluster's
    path.write_text(json.dumps(other))
    path.chmod(0o644)
    setup.restart(["--secrets-encryption", "--reload-interval", "0.2"])
    assert path.read_bytes() == good
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "differed from the datastore's state: rewritten from the datastore" in setup.server.log()
    active, _ = keys_in_status(setup.cli.status())
    setup.check(active)


# ---- refusals, dry runs and error messages ----------------------------------------------


def test_custom_config_is_not_managed(tmp_path: Path) -> None:
    require_tools("kubectl")
    custom = tmp_path / "enc.json"
    custom.write_text(
        '{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
        '"resources":[{"resources":["secrets"],"providers":[{"aesgcm":{"keys":[{"name":"k1",'
        '"secret":"MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="}]}},{"identity":{}}]}]}'
    )
    before = custom.read_bytes()
    with KcryptServer(tmp_path / "data", args=["--encryption-provider-config", str(custom)]) as s:
        cli = Cli(s)
        # status only reads: it shows the operator's file's keys
        text = cli.ok("status")
        assert text.splitlines()[:2] == [
            "Encryption Status: Enabled",
            "Current Rotation Stage: custom",
        ]
        assert table_rows(text) == [" *      AES-GCM   k1", ""]
        for command in (["rotate-keys"], ["enable"], ["prepare", "--force"]):
            err = cli.fail(*command)
            assert "secrets-encrypt manages only the server's own encryption config" in err
            assert f"--encryption-provider-config {custom}" in err
            assert "see server log" not in err
    assert custom.read_bytes() == before
    assert not (tmp_path / "data" / "server" / "cred" / "encryption-config.json").exists()


def test_dry_run_prints_the_config_redacted_and_changes_nothing(setup: Setup) -> None:
    setup.add(3, "dry")
    before = config_on_disk(setup.server)
    doc = setup.cli.status()
    for command, stage in (
        ("prepare", "would become prepare"),
        ("rotate-keys", "would become reencrypt_active"),
        ("disable", "stays start"),  # disable and enable keep the stage, as in k3s
        ("enable", "stays start"),
    ):
        out = setup.cli.ok(command, "--dry-run")
        header, _, body = out.partition("\n")
        assert header.startswith(f"# {command}: stage {stage}")
        config = json.loads(body)
        keys = [
            k
            for p in config["resources"][0]["providers"]
            for v in p.values()
            for k in (v or {}).get("keys", [])
        ]
        assert keys and all(k["secret"] == "<redacted secret>" for k in keys)
        assert before.decode() not in out
        secret = json.loads(before)["resources"][0]["providers"][0]["aescbc"]["keys"][0]["secret"]
        assert secret not in out
    prep = json.loads(setup.cli.ok("prepare", "--dry-run").partition("\n")[2])
    names = [k["name"] for k in prep["resources"][0]["providers"][0]["aescbc"]["keys"]]
    assert names[0] == "aescbckey" and len(names) == 2  # prepare appends the new key
    assert config_on_disk(setup.server) == before
    assert setup.cli.status() == doc
    setup.check("aescbckey")


def test_errors_are_the_real_message(setup: Setup) -> None:
    cli = setup.cli
    err = cli.fail("rotate")
    assert err.strip() == "Error: incorrect stage: start found on node e2e-node"
    err = cli.fail("reencrypt")
    assert err.strip() == "Error: incorrect stage: start found on node e2e-node"
    cli.ok("prepare")
    err = cli.fail("prepare")
    assert err.strip() == "Error: incorrect stage: prepare found on node e2e-node"
    err = cli.fail("rotate-keys")
    assert "incorrect stage: prepare" in err
    cli.ok("prepare", "--force")  # --force skips the stage check, as in k3s
    err = cli.run("status", "--token", "wrong", check=False).stderr
    assert err.strip() == "Error: Unauthorized"
    with setup.server.client() as client:  # k3s answers 405 for anything but PUT
        r = client.get("/v1-kcrypt/encrypt/config")
        assert r.status_code == 405 and r.json()["message"] == "method not allowed"
        r = client.put("/v1-kcrypt/encrypt/config", content=b"not json")
        assert r.status_code == 400
        assert r.json()["message"].startswith("the request body is not valid JSON: ")
        nested = b'{"stage":' + b"[" * 200_000 + b"]" * 200_000 + b"}"  # was a plain-text 500
        r = client.put("/v1-kcrypt/encrypt/config", content=nested)
        assert r.status_code == 400 and r.json()["kind"] == "Status"
        assert r.json()["message"] == "the request body is nested too deeply"
        r = client.put("/v1-kcrypt/encrypt/config", json={"stage": "bogus"})
        assert r.status_code == 400 and r.json()["message"] == "unknown stage bogus requested"
        for bad in ("afterRevision=x", "timeoutSeconds=nan", "timeoutSeconds=soon"):
            r = client.get(f"/v1-kcrypt/encrypt/progress?{bad}")
            assert r.status_code == 400, bad
            assert r.json()["message"] == (
                "afterRevision must be an integer and timeoutSeconds a number"
            )
        seen = client.get("/v1-kcrypt/encrypt/progress").json()
        same = client.get(
            "/v1-kcrypt/encrypt/progress",
            params={"afterRevision": seen["revision"], "timeoutSeconds": "0.2"},
        ).json()  # nothing changed: the wait ends at its timeout with the same document
        assert (same["generation"], same["job"]) == (seen["generation"], seen["job"])
    assert "see server log" not in err
