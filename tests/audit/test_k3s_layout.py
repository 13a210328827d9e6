"""The audit on a store kcrypt did not write: kine's table, kube-apiserver's values.

Planted (secrets encrypted by the config, whose aescbc write key is ``k-new``):

* 5 secrets under ``k-new`` (current);
* 3 secrets still under the old key ``k-old`` (stale);
* 2 plaintext secrets (leftovers from before encryption);
* 1 secret under ``k-lost``, a key no config has;
* history: 2 secrets first written under ``k-old`` then rewritten under
  ``k-new``, and 1 first written in plaintext then under ``k-new``;
* 2 configmaps in plaintext (the config does not encrypt configmaps: fine).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from e2e.harness import kcrypt_command

from .k3s_store import KineFile, aescbc, k3s_config

NEW, OLD, LOST = os.urandom(32), os.urandom(32), os.urandom(32)


@pytest.fixture
def planted(tmp_path: Path, k8s_fixtures: Path) -> tuple[Path, Path]:
    secret = (k8s_fixtures / "api-testdata" / "HEAD" / "core.v1.Secret.pb").read_bytes()
    configmap = (k8s_fixtures / "api-testdata" / "HEAD" / "core.v1.ConfigMap.pb").read_bytes()
    db = tmp_path / "server" / "db" / "state.db"
    db.parent.mkdir(parents=True)
    kine = KineFile(db)
    for i in range(5):
        kine.put(f"/registry/secrets/default/new-{i}", aescbc(NEW, "k-new", secret))
    for i in range(3):
        kine.put(f"/registry/secrets/default/old-{i}", aescbc(OLD, "k-old", secret))
    for i in range(2):
        kine.put(f"/registry/secrets/kube-system/plain-{i}", secret)
    kine.put("/registry/secrets/default/lost", aescbc(LOST, "k-lost", secret))
    for i in range(2):
        name = f"/registry/secrets/default/rotated-{i}"
        kine.put(name, aescbc(OLD, "k-old", secret))
        kine.put(name, aescbc(NEW, "k-new", secret))
    kine.put("/registry/secrets/default/was-plain", secret)
    kine.put("/registry/secrets/default/was-plain", aescbc(NEW, "k-new", secret))
    for i in range(2):
        kine.put(f"/registry/configmaps/default/cm-{i}", configmap)
    kine.close()
    config = tmp_path / "encryption-config.json"
    config.write_bytes(k3s_config([("k-new", NEW), ("k-old", OLD)]))
    return db, config


def run_audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kcrypt_command(), "audit", *args], capture_output=True, text=True, timeout=120
    )


def test_the_offline_audit_reports_exactly_what_was_planted(planted: tuple[Path, Path]) -> None:
    db, config = planted
    before = db.read_bytes()
    proc = run_audit("--datastore", str(db), "--config", str(config), "-o", "json")
    assert proc.returncode == 1, proc.stderr  # something is left
    doc = json.loads(proc.stdout)
    rows = {(r["resource"], r["provider"], r["key"]): r for r in doc["rows"]}

    new = rows[("secrets", "aescbc", "k-new")]
    assert (new["write"], new["count"], new["stale"], new["historyOld"]) == (True, 8, 0, 0)
    old = rows[("secrets", "aescbc", "k-old")]
    assert (old["count"], old["stale"], old["history"], old["historyOld"]) == (3, 3, 2, 2)
    plain = rows[("secrets", "identity", "")]
    assert (plain["count"], plain["plaintext"], plain["history"], plain["historyOld"]) == (
        2,
        2,
        1,
        1,
    )
    lost = rows[("secrets", "aescbc", "k-lost")]
    assert (lost["count"], lost["undecryptable"]) == (1, 1)
    assert list(lost["reasons"].values()) == [1]
    cms = rows[("configmaps", "identity", "")]
    assert (cms["count"], cms["plaintext"], cms["write"]) == (2, 0, True)
    assert doc["totals"] == {"stale": 3, "plaintext": 2, "undecryptable": 1, "historyOld": 3}
    assert doc["values"] == 5 + 3 + 2 + 1 + 2 + 1 + 2
    assert db.read_bytes() == before  # offline never writes


def test_the_table_names_each_key_and_the_reason_a_value_is_unreadable(
    planted: tuple[Path, Path],
) -> None:
    db, config = planted
    proc = run_audit("--datastore", str(db), "--config", str(config))
    assert proc.returncode == 1
    assert "k-new" in proc.stdout and "k-old" in proc.stdout and "k-lost" in proc.stdout
    assert "1 unreadable:" in proc.stdout
    assert "3 stale, 2 plaintext, 1 unreadable, 3 old revisions" in proc.stdout


def test_decrypt_prints_a_secret_as_the_api_would_and_reports_the_unreadable(
    planted: tuple[Path, Path], k8s_fixtures: Path
) -> None:
    db, config = planted
    expected = json.loads(
        (k8s_fixtures / "api-testdata" / "HEAD" / "core.v1.Secret.json").read_text()
    )
    argv = [*kcrypt_command(), "decrypt", "--datastore", str(db), "--config", str(config)]
    one = subprocess.run(
        [*argv, "/registry/secrets/default/old-1", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["data"] == expected["data"]
    every = subprocess.run(
        [*argv, "/registry/secrets/default/"], capture_output=True, text=True, timeout=60
    )
    assert every.returncode == 1  # k-lost cannot be read
    assert "Error: /registry/secrets/default/lost:" in every.stderr
    assert every.stdout.count("kind: Secret") == 5 + 3 + 2 + 1
