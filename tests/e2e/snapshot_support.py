"""Running the snapshot commands as an operator does: real processes, real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from .harness import KcryptServer, kcrypt_command


def kcrypt(
    *args: str, check: bool = True, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    import os

    proc = subprocess.run(
        [*kcrypt_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"kcrypt {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    return proc


def local(server: KcryptServer, *extra: str) -> list[str]:
    return ["--data-dir", str(server.data_dir), "--node-name", "e2e-node", *extra]


def save(server: KcryptServer, *extra: str, name: str = "on-demand") -> Path:
    """``etcd-snapshot save``; the saved file."""
    out = kcrypt("etcd-snapshot", "save", "--name", name, *local(server, *extra)).stdout
    assert out.startswith("Snapshot ") and out.rstrip().endswith(" saved."), out
    snap = out.split()[1]
    return server.data_dir / "server" / "db" / "snapshots" / f"{snap}.zip"


def listed(server: KcryptServer, *extra: str) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = json.loads(
        kcrypt("etcd-snapshot", "ls", "-o", "json", *local(server, *extra)).stdout
    )
    return doc


def cluster_reset(
    data_dir: Path, snapshot: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``kcrypt server --cluster-reset --cluster-reset-restore-path``: restores and exits."""
    return kcrypt(
        "server",
        "--data-dir",
        str(data_dir),
        "--node-name",
        "e2e-node",
        "--cluster-reset",
        "--cluster-reset-restore-path",
        str(snapshot),
        *args,
        check=check,
    )


def online_audit(server: KcryptServer) -> tuple[int, dict[str, Any]]:
    """``kcrypt audit -o json`` against ``server``: its exit code and the report."""
    proc = kcrypt(
        "audit",
        "--data-dir",
        str(server.data_dir),
        "--server",
        server.url,
        "-o",
        "json",
        check=False,
    )
    assert proc.stdout.startswith("{"), proc.stdout + proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, report
