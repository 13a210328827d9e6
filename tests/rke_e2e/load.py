"""kubectl writing through every server, and readers on every server, during a step.

One writer thread per server runs the real kubectl (``kubectl apply``) with
that server's kubeconfig, alternating a Secret and a ConfigMap; one reader
thread per server lists secrets and configmaps over HTTPS. Every failure is
recorded: a failed read (any status but 200) is the thing these tests forbid.
Each write is recorded with its time span and server, so a test can check that
every server took writes while a step ran.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field

import httpx

from .cluster import RkeCluster


@dataclass(frozen=True)
class Write:
    server: int
    started: float
    finished: float


@dataclass
class KubectlLoad:
    cluster: RkeCluster
    names: int = 12
    errors: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    reads: int = 0
    latest: dict[tuple[str, str], str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _writer(self, i: int) -> None:
        kubectl = self.cluster.kubectl(i)
        n = 0
        while not self._stop.is_set():
            kind = "Secret" if n % 2 == 0 else "ConfigMap"
            name = f"load-s{i + 1}-{n % self.names:02d}"
            value = f"{name}-rev-{n}"
            field_name = "stringData" if kind == "Secret" else "data"
            doc = {
                "apiVersion": "v1",
                "kind": kind,
                "metadata": {"name": name, "namespace": "default"},
                field_name: {"v": value},
            }
            started = time.monotonic()
            proc = subprocess.run(
                kubectl.argv("apply", "-f", "-"),
                input=json.dumps(doc).encode(),
                capture_output=True,
                env=kubectl.env(),
                timeout=120,
            )
            finished = time.monotonic()
            with self._lock:
                if proc.returncode == 0:
                    self.writes.append(Write(i, started, finished))
                    self.latest[(kind, name)] = value
                else:
                    self.errors.append(f"kubectl apply via s{i + 1}: {proc.stderr.decode()[:300]}")
            n += 1

    def _reader(self, i: int) -> None:
        server = self.cluster.servers[i]
        client: httpx.Client | None = None
        while not self._stop.is_set():
            try:
                client = client or server.client(timeout=20)
                for path in ("/api/v1/secrets", "/api/v1/configmaps"):
                    r = client.get(path)
                    if r.status_code != 200:
                        self.errors.append(
                            f"read {path} via s{i + 1}: {r.status_code} {r.text[:300]}"
                        )
                    else:
                        with self._lock:
                            self.reads += 1
            except httpx.TransportError as exc:
                self.errors.append(f"read via s{i + 1}: {type(exc).__name__}")
                if client is not None:
                    client.close()
                client = None
            time.sleep(0.02)
        if client is not None:
            client.close()

    def __enter__(self) -> KubectlLoad:
        for i in range(len(self.cluster.servers)):
            self._threads.append(threading.Thread(target=self._writer, args=(i,), daemon=True))
            self._threads.append(threading.Thread(target=self._reader, args=(i,), daemon=True))
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def writers_during(self, start: float, end: float) -> set[int]:
        """Servers with a successful kubectl write whose span overlaps [start, end]."""
        with self._lock:
            return {w.server for w in self.writes if w.started <= end and w.finished >= start}

    def wait_for_writes(self, since: float, *, timeout: float = 60) -> None:
        """Until every server took a write that finished after ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                done = {w.server for w in self.writes if w.finished >= since}
            if len(done) == len(self.cluster.servers):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only servers {sorted(done)} took writes; errors: {self.errors[:5]}"
                )
            time.sleep(0.1)
