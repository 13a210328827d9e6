"""Snapshots of a server that is busy: during a re-encryption pass with kubectl
writing, and a save killed with SIGKILL half-way."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import threading
import zipfile
from pathlib import Path

from .harness import KcryptServer, Kubectl, kcrypt_command, wait_until
from .secrets_support import Cli, config_on_disk, seed_store
from .snapshot_support import cluster_reset, kcrypt, listed, local

TOKEN = "live-snapshot-token-" + "4" * 40
N = 20_000


def big_server(base: Path) -> KcryptServer:
    """A server whose SQLite store holds N secrets under its first key."""
    args = ["--secrets-encryption", "--token", TOKEN]
    base.mkdir(parents=True)
    first = KcryptServer(base / "data", args=args).start()
    first.stop()
    db = first.data_dir / "server" / "db" / "state.db"
    asyncio.run(seed_store(f"sqlite://{db}", config_on_disk(first), N))
    return KcryptServer(base / "data", args=args, port=first.port).start()


class Writer(threading.Thread):
    """kubectl applying secrets one after another until stopped; remembers every value."""

    def __init__(self, kubectl: Kubectl) -> None:
        super().__init__(daemon=True)
        self.kubectl = kubectl
        self.written: dict[str, set[str]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            name = f"live-{n % 5}"
            value = f"{name}-rev-{n}"
            self.written.setdefault(name, set()).add(value)
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "default"},
                "stringData": {"v": value},
            }
            self.kubectl.run("apply", "-f", "-", input=json.dumps(body))
            n += 1


def test_a_snapshot_during_a_pass_under_kubectl_writes_restores_consistently(
    tmp_path: Path,
) -> None:
    server = big_server(tmp_path / "a")
    kubectl = Kubectl(server.kubeconfig, tmp_path / "cache")
    writer = Writer(kubectl)
    cli = Cli(server)
    keys: dict[str, int] = {}
    try:
        writer.start()
        wait_until(lambda: len(writer.written) >= 2)
        # The save starts once the pass has begun; a CLI process's start can still miss a
        # pass that ends first on a busy machine, so a save that caught none is tried again
        # with the next rotation (each rotation is a new pass over every secret).
        for _ in range(4):
            rotation = subprocess.Popen(
                [
                    *kcrypt_command(),
                    "secrets-encrypt",
                    "rotate-keys",
                    "--data-dir",
                    str(server.data_dir),
                    "--server",
                    server.url,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            wait_until(
                lambda: (cli.status().get("reencrypt") or {}).get("done", 0) > 0, interval=0.05
            )
            out = kcrypt("etcd-snapshot", "save", *local(server)).stdout
            rotation.communicate(timeout=300)
            assert rotation.returncode == 0
            snap = server.data_dir / "server" / "db" / "snapshots" / f"{out.split()[1]}.zip"
            with zipfile.ZipFile(snap) as zf:
                keys = json.loads(zf.read("manifest.json"))["resources"]["secrets"]
            if len(keys) == 2:
                break
        writer.stop.set()
        writer.join(timeout=60)
    finally:
        writer.stop.set()
        server.stop()
    assert len(keys) == 2, keys  # taken mid-pass: values under the old key and the new one

    fresh = tmp_path / "fresh" / "data"
    cluster_reset(fresh, snap, "--token", TOKEN)  # verification: every value opens
    restored = KcryptServer(fresh, args=["--token", TOKEN]).start()
    try:
        items = Kubectl(restored.kubeconfig, tmp_path / "cache2").json("get", "secrets", "-A")
    finally:
        restored.stop()
    assert len(items["items"]) == sum(keys.values())
    for item in items["items"]:
        name = item["metadata"]["name"]
        if name.startswith("live-"):
            value = base64.b64decode(item["data"]["v"]).decode()
            assert value in writer.written[name]  # a value kubectl wrote, never a torn one


def test_a_save_killed_with_sigkill_leaves_no_snapshot_listed(tmp_path: Path) -> None:
    server = big_server(tmp_path / "a")
    snaps = server.data_dir / "server" / "db" / "snapshots"
    try:
        proc = subprocess.Popen(
            [*kcrypt_command(), "etcd-snapshot", "save", *local(server)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_until(
            lambda: snaps.is_dir() and any(".tmp-" in p.name for p in snaps.iterdir()),
            interval=0.01,
        )
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert listed(server) == []
        assert all(p.name.startswith(".") for p in snaps.iterdir())

        kcrypt("etcd-snapshot", "save", *local(server))
        (row,) = listed(server)
        assert row["name"].startswith("on-demand-e2e-node-")
    finally:
        server.stop()
