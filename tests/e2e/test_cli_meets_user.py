"""The server and the CLI as a user meets them: ports, URLs, tokens, progress lines."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from .harness import KcryptServer, Kubectl, free_port, kcrypt_command, require_tools
from .secrets_support import create_with_kubectl, secret_set


def _server_run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kcrypt_command(), "server", *args], capture_output=True, text=True, timeout=timeout
    )


def test_a_port_in_use_stops_the_start_before_anything_is_written(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        proc = _server_run("--data-dir", str(tmp_path / "data"), "--https-listen-port", str(port))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: cannot listen on https://127.0.0.1:{port}: address already in use "
        "(another server on that port? choose one with --https-listen-port)"
    ]
    assert "Traceback" not in proc.stderr and "listening on" not in proc.stderr
    assert not (tmp_path / "data" / "server" / "cred" / "admin.kubeconfig").exists()


def test_a_short_token_is_refused_with_one_error_line(tmp_path: Path) -> None:
    proc = _server_run("--data-dir", str(tmp_path / "data"), "--token", "short-token")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: --token must be at least 16 characters (got 11): it seals every encryption "
        "key in the datastore; leave it out to have one generated, or use e.g. "
        "'openssl rand -hex 32'"
    )


def test_a_token_file_and_the_data_dir_alone_find_the_server(tmp_path: Path) -> None:
    """No --server, no --token on the CLI: -d finds the URL the server recorded."""
    token_file = tmp_path / "token"
    token_file.write_text("kept-out-of-ps-0123456789\n")
    server = KcryptServer(
        tmp_path / "data", args=["--token-file", str(token_file), "--secrets-encryption"]
    )
    with server:
        assert server.token == "kept-out-of-ps-0123456789"
        assert (server.data_dir / "server" / "url").read_text().strip() == server.url
        proc = subprocess.run(
            [*kcrypt_command(), "secrets-encrypt", "status", "-d", str(server.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin"},  # no KCRYPT_URL, no KCRYPT_TOKEN
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("Encryption Status: Enabled\n")


def test_rotate_keys_prints_the_counts_of_its_own_pass(tmp_path: Path) -> None:
    require_tools("kubectl")
    with KcryptServer(tmp_path / "data", args=["--secrets-encryption"]) as server:
        kubectl = Kubectl(server.kubeconfig, tmp_path / "kubectl-cache")
        create_with_kubectl(kubectl, secret_set(34, tag="count"))
        for command in ("rotate-keys", "disable", "enable"):
            proc = subprocess.run(
                [
                    *kcrypt_command(),
                    "secrets-encrypt",
                    command,
                    "-d",
                    str(server.data_dir),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode == 0, proc.stderr
            last = proc.stderr.strip().splitlines()[-1]
            # 34 secrets plus the default namespaces' nothing: the pass saw all 34
            assert last.startswith("Reencryption Progress: 34/34 secrets (100.0%)"), last
            assert last.endswith(", finished"), last
