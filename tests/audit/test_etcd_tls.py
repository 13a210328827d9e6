"""The audit against etcd over TLS with client certificates (kubeadm's setup): values
put with etcdctl exactly as kube-apiserver writes them, counts exactly as planted."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import kcrypt_command, require_tools
from etcd_cluster import etcd_available

from .k3s_store import aescbc, k3s_config
from .tls_etcd import TLSEtcd

pytestmark = pytest.mark.etcd
NEW, OLD, LOST = os.urandom(32), os.urandom(32), os.urandom(32)


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[TLSEtcd]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    require_tools("etcdctl")
    server = TLSEtcd(tmp_path / "etcd")
    try:
        yield server
    finally:
        server.stop()


def audit(etcd: TLSEtcd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kcrypt_command(), "audit", "--datastore", etcd.url, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_audit_over_tls_reports_the_planted_counts(
    etcd: TLSEtcd, tmp_path: Path, k8s_fixtures: Path
) -> None:
    secret = (k8s_fixtures / "api-testdata" / "HEAD" / "core.v1.Secret.pb").read_bytes()
    for i in range(4):
        etcd.put(f"/registry/secrets/default/new-{i}", aescbc(NEW, "k-new", secret))
    for i in range(2):
        etcd.put(f"/registry/secrets/default/old-{i}", aescbc(OLD, "k-old", secret))
    etcd.put("/registry/secrets/default/plain", secret)
    etcd.put("/registry/secrets/default/lost", aescbc(LOST, "k-lost", secret))
    etcd.put("/registry/secrets/default/rotated", aescbc(OLD, "k-old", secret))
    etcd.put("/registry/secrets/default/rotated", aescbc(NEW, "k-new", secret))
    config = tmp_path / "encryption-config.json"
    config.write_bytes(k3s_config([("k-new", NEW), ("k-old", OLD)]))

    proc = audit(etcd, *etcd.tls_args(), "--config", str(config), "-o", "json")

    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    rows = {(r["resource"], r["provider"], r["key"]): r for r in doc["rows"]}
    assert rows[("secrets", "aescbc", "k-new")]["count"] == 5
    old = rows[("secrets", "aescbc", "k-old")]
    assert (old["count"], old["stale"], old["history"], old["historyOld"]) == (2, 2, 1, 1)
    assert rows[("secrets", "identity", "")]["plaintext"] == 1
    assert rows[("secrets", "aescbc", "k-lost")]["undecryptable"] == 1
    assert doc["totals"] == {"stale": 2, "plaintext": 1, "undecryptable": 1, "historyOld": 1}


def test_without_a_client_certificate_etcd_refuses_and_the_audit_says_so(etcd: TLSEtcd) -> None:
    proc = audit(etcd, "--etcd-cafile", str(etcd.base / "ca.crt"))
    assert proc.returncode == 1
    # one line, kcrypt's: gRPC's own transport log lines are not printed around it
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("Error: datastore etcds://127.0.0.1:") and "unavailable" in line
