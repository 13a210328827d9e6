"""A real ``kcrypt server`` process and the real kubectl, for end-to-end tests.

The server runs as a subprocess of ``.venv/bin/kcrypt`` on a free loopback
port with its own data dir; tests talk to it the way users do: kubectl with the
kubeconfig the server wrote, the ``kubernetes`` client, or httpx with the CA
and token from the data dir. Raw datastore values are read with the
``sqlite3`` and ``etcdctl`` command-line tools, never through kcrypt.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
KCRYPT = REPO / ".venv" / "bin" / "kcrypt"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH")


def kcrypt_command() -> list[str]:
    if KCRYPT.exists():
        return [str(KCRYPT)]
    return [sys.executable, "-m", "kcrypt.cli.main"]


@dataclass
class KcryptServer:
    data_dir: Path
    args: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    ready_path: str = "/readyz"
    """What counts as started (``/livez`` for a server expected not to be ready)."""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "server" / "cred" / "admin.kubeconfig"

    @property
    def token(self) -> str:
        return (self.data_dir / "server" / "token").read_text().strip()

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "server" / "tls" / "server-ca.crt"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def command(self) -> list[str]:
        return [
            *kcrypt_command(),
            "server",
            "--data-dir",
            str(self.data_dir),
            "--https-listen-port",
            str(self.port),
            "--node-name",
            "e2e-node",
            *self.args,
        ]

    def start(self) -> KcryptServer:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()  # never leave a server behind when start-up fails
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"kcrypt server exited with {self.process.returncode}:\n{self.log()}"
                )
            if self._ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"kcrypt server did not become ready:\n{self.log()}")

    def _ready(self) -> bool:
        if not (self.kubeconfig.exists() and self.ca_file.exists()):
            return False
        try:
            with self.client() as client:
                return client.get(self.ready_path).status_code == 200
        except httpx.HTTPError:
            return False

    def client(self, *, token: str | None = None, timeout: float = 10.0) -> httpx.Client:
        """httpx over the server's TLS with the admin token (or ``token``)."""
        return httpx.Client(
            base_url=self.url,
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            headers={"Authorization": f"Bearer {token if token is not None else self.token}"},
            timeout=timeout,
        )

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> KcryptServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample from /metrics (None when absent)."""
        with self.client() as client:
            text = client.get("/metrics").text
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None


@dataclass
class Kubectl:
    """The real kubectl with the server's kubeconfig and a private discovery cache."""

    kubeconfig: Path
    cache_dir: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["HOME"] = str(self.cache_dir)  # no ~/.kube of the machine's user
        return env

    def argv(self, *args: str) -> list[str]:
        return [KUBECTL, "--cache-dir", str(self.cache_dir), *args]

    def run(self, *args: str, input: str | bytes | None = None, check: bool = True) -> str:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            self.argv(*args), input=data, capture_output=True, env=self.env(), timeout=60
        )
        out = proc.stdout.decode()
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()}"
            )
        return out

    def fail(self, *args: str, input: str | None = None) -> str:
        """Run a command that must fail; returns its stderr."""
        proc = subprocess.run(
            self.argv(*args),
            input=input.encode() if input else None,
            capture_output=True,
            env=self.env(),
            timeout=60,
        )
        assert proc.returncode != 0, f"kubectl {' '.join(args)} unexpectedly succeeded"
        return proc.stderr.decode()

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env()
        )


def sqlite_raw(db: Path, key: str) -> bytes | None:
    """The newest live value of ``key`` in kine's table, read with the sqlite3 CLI."""
    query = (
        "SELECT hex(value) FROM kine WHERE name = '{0}' "
        "AND id = (SELECT MAX(id) FROM kine WHERE name = '{0}') AND deleted = 0;"
    ).format(key.replace("'", "''"))
    out = subprocess.run(
        ["sqlite3", "-readonly", str(db), query], capture_output=True, check=True, timeout=30
    ).stdout.strip()
    return bytes.fromhex(out.decode()) if out else None


def sqlite_keys(db: Path, prefix: str) -> list[str]:
    escaped = prefix.replace("'", "''")
    query = f"SELECT DISTINCT name FROM kine WHERE name LIKE '{escaped}%' ORDER BY name;"
    out = subprocess.run(
        ["sqlite3", "-readonly", str(db), query], capture_output=True, check=True, timeout=30
    ).stdout.decode()
    return [line for line in out.splitlines() if line]


def etcd_raw(endpoints: str, key: str) -> bytes | None:
    """The value of ``key`` read with etcdctl (bytes as stored)."""
    out = subprocess.run(
        ["etcdctl", f"--endpoints={endpoints}", "get", key, "-w", "json"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    doc = json.loads(out)
    kvs = doc.get("kvs") or []
    if not kvs:
        return None
    return base64.b64decode(kvs[0]["value"])


class JsonStream:
    """JSON documents printed one after another by a process (``kubectl -w -o json``)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._proc = proc
        self._fd = proc.stdout.fileno()
        self._text = ""
        self._decoder = json.JSONDecoder()

    def next(self, *, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self._text = self._text.lstrip()
            if self._text:
                try:
                    obj, end = self._decoder.raw_decode(self._text)
                except json.JSONDecodeError:
                    pass
                else:
                    self._text = self._text[end:]
                    return obj
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no complete JSON document in time; have {self._text!r}")
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                    raise AssertionError(f"the stream ended: {err}")
                self._text += chunk.decode()

    def close(self) -> None:
        """End the process and close its pipes (a pipe left open is a ResourceWarning)."""
        self._proc.kill()
        self._proc.communicate()


def wait_until(predicate: Any, *, timeout: float = 20.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
