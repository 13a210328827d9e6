"""Three real ``kcrypt server`` processes on one real etcd cluster, and a load that
writes and reads through all of them while the operator rotates keys.

Each server has its own data dir, node name (``s1``..``s3``) and port, the same
``--token`` and ``--secrets-encryption``, and short timers (server lease 2 s,
sync every 0.2 s) so that a dead server is noticed quickly.
"""

from __future__ import annotations

import base64
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from e2e.harness import KcryptServer
from e2e.secrets_support import Cli, etcd_secrets, key_of
from etcd_cluster import EtcdCluster

TOKEN = "ha-test-token-" + "7" * 40
FAST = ["--server-lease-ttl", "2", "--sync-interval", "0.2"]


def server_args(etcd: EtcdCluster, node: str, *extra: str) -> list[str]:
    return [
        "--datastore-endpoint",
        etcd.url,
        "--secrets-encryption",
        "--token",
        TOKEN,
        "--node-name",
        node,
        *FAST,
        *extra,
    ]


@dataclass
class HACluster:
    etcd: EtcdCluster
    base: Path
    servers: list[KcryptServer] = field(default_factory=list)

    @classmethod
    def start(cls, etcd: EtcdCluster, base: Path, n: int = 3) -> HACluster:
        base.mkdir(parents=True, exist_ok=True)
        cluster = cls(etcd, base)
        for i in range(n):
            node = f"s{i + 1}"
            server = KcryptServer(base / node, args=server_args(etcd, node))
            cluster.servers.append(server.start())  # the first one creates the state
        return cluster

    @property
    def endpoints(self) -> str:
        return ",".join(self.etcd.endpoints)

    def cli(self, i: int) -> Cli:
        return Cli(self.servers[i])

    def restart(self, i: int) -> None:
        s = self.servers[i]
        assert s.stop() == 0
        s.start()

    def restart_all(self) -> None:
        for i in range(len(self.servers)):
            self.restart(i)

    def stop(self) -> None:
        for s in self.servers:
            if s.process is not None and s.process.poll() is None:
                s.process.send_signal(signal.SIGCONT)
            s.stop()

    def raw(self) -> dict[str, bytes]:
        return etcd_secrets(self.endpoints)

    def wait_converged(self, timeout: float = 60) -> dict[str, Any]:
        """Until every server is live, applied the state, and no pass runs."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.cli(0).status()
            servers = doc.get("servers") or []
            running = (doc.get("reencrypt") or {}).get("running", False)
            if (
                len(servers) == len(self.servers)
                and all(s["state"] == "live" and s["applied"] for s in servers)
                and doc.get("hashmatch")
                and not running
            ):
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"servers did not converge: {doc}")
            time.sleep(0.2)


def secret_body(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": "Opaque",
        "data": {"v": base64.b64encode(value.encode()).decode()},
    }


class Load:
    """A writer creating/updating secrets round-robin through every server, and one
    reader per server reading them back; any HTTP error status is recorded.

    A connection refused while a server restarts is not an error of the
    system under test (the server is down); everything else is.
    """

    def __init__(self, cluster: HACluster, *, names: int = 40) -> None:
        self.cluster = cluster
        self.names = [f"load-{i:03d}" for i in range(names)]
        self.latest: dict[str, str] = {}
        self.errors: list[str] = []
        self.reads = 0
        self.writes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _client(self, i: int) -> httpx.Client:
        return self.cluster.servers[i].client(timeout=10.0)

    def _writer(self) -> None:
        clients: dict[int, httpx.Client] = {}
        n = 0
        while not self._stop.is_set():
            i = n % len(self.cluster.servers)
            name = self.names[n % len(self.names)]
            value = f"{name}-rev-{n}"
            try:
                c = clients.get(i) or clients.setdefault(i, self._client(i))
                path = "/api/v1/namespaces/default/secrets"
                if name in self.latest:
                    r = c.put(f"{path}/{name}", json=secret_body(name, value))
                else:
                    r = c.post(path, json=secret_body(name, value))
                if r.status_code in (200, 201):
                    with self._lock:
                        self.latest[name] = value
                        self.writes += 1
                elif r.status_code != 409:  # a conflict is a lost race, not a failure
                    self.errors.append(f"write {name} via s{i + 1}: {r.status_code} {r.text[:200]}")
            except httpx.TransportError:
                if (dropped := clients.pop(i, None)) is not None:
                    dropped.close()
            n += 1
            time.sleep(0.005)
        for c in clients.values():
            c.close()

    def _reader(self, i: int) -> None:
        client: httpx.Client | None = None
        while not self._stop.is_set():
            try:
                client = client or self._client(i)
                r = client.get("/api/v1/namespaces/default/secrets")
                if r.status_code != 200:
                    self.errors.append(f"list via s{i + 1}: {r.status_code} {r.text[:200]}")
                else:
                    with self._lock:
                        self.reads += 1
            except httpx.TransportError:
                if client is not None:
                    client.close()
                client = None
                time.sleep(0.05)
            time.sleep(0.01)
        if client is not None:
            client.close()

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._writer, daemon=True)]
        self._threads += [
            threading.Thread(target=self._reader, args=(i,), daemon=True)
            for i in range(len(self.cluster.servers))
        ]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)


def read_back_everywhere(cluster: HACluster, latest: dict[str, str]) -> None:
    """Every secret reads back with its latest content from every server."""
    for server in cluster.servers:
        with server.client() as c:
            for name, value in latest.items():
                r = c.get(f"/api/v1/namespaces/default/secrets/{name}")
                assert r.status_code == 200, (server.data_dir.name, name, r.text)
                got = base64.b64decode(r.json()["data"]["v"]).decode()
                assert got == value, (server.data_dir.name, name, got, value)


def assert_raw_under(cluster: HACluster, key: str, names: list[str]) -> dict[str, bytes]:
    raw = cluster.raw()
    wrong = {k: key_of(v, names) for k, v in raw.items() if key_of(v, names) != key}
    assert not wrong, f"{len(wrong)} values not under {key}: {dict(list(wrong.items())[:5])}"
    return raw


def iter_servers(cluster: HACluster) -> Iterator[tuple[int, KcryptServer]]:
    yield from enumerate(cluster.servers)
