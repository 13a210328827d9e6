"""Start, stop and start again: credentials and data survive, SIGTERM is clean."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml

from .harness import KcryptServer, Kubectl, require_tools, sqlite_raw


def test_restart_keeps_token_ca_and_data_and_sigterm_exits_zero(tmp_path: Path) -> None:
    require_tools("kubectl", "sqlite3")
    extra = tmp_path / "out" / "kubeconfig.yaml"
    args = ["--write-kubeconfig", str(extra), "--write-kubeconfig-mode", "0644"]
    server = KcryptServer(tmp_path / "data", args=args).start()
    try:
        assert f"Wrote kubeconfig {server.kubeconfig}" in server.log()
        assert stat.S_IMODE(server.kubeconfig.stat().st_mode) == 0o600
        assert stat.S_IMODE(extra.stat().st_mode) == 0o644
        assert extra.read_bytes() == server.kubeconfig.read_bytes()
        kubectl = Kubectl(extra, tmp_path / "cache")
        kubectl.run("create", "secret", "generic", "keep", "--from-literal=k=survives-restart")
        ns = kubectl.run("get", "namespaces", "-o", "name").split()
        assert {"namespace/default", "namespace/kube-system"} <= set(ns)
        first_config = yaml.safe_load(server.kubeconfig.read_text())
    finally:
        assert server.stop() == 0
    assert "received SIGTERM" in server.log()
    token = server.token
    assert token not in server.log()

    # without encryption the value is stored as plain protobuf (identity)
    raw = sqlite_raw(
        tmp_path / "data" / "server" / "db" / "state.db", "/registry/secrets/default/keep"
    )
    assert raw is not None and raw.startswith(b"k8s\x00")

    again = KcryptServer(tmp_path / "data", args=args, port=server.port).start()
    try:
        assert again.token == token
        assert yaml.safe_load(again.kubeconfig.read_text()) == first_config
        got = Kubectl(extra, tmp_path / "cache").json("get", "secret", "keep")
        assert got["data"]["k"] == "c3Vydml2ZXMtcmVzdGFydA=="
    finally:
        assert again.stop() == 0
