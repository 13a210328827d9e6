"""Real KMS parts for tests: a SoftHSM2 token per test, plugin processes, in-process plugins.

* :class:`SoftHSMToken`: a token initialised with ``softhsm2-util`` in the
  test's temp dir (its own ``SOFTHSM2_CONF``), a PIN file beside it.
* :class:`PluginProcess`: ``kcrypt kms-plugin serve`` as a subprocess
  (pkcs11 or keyfile backend), started, killed and restarted like a real one.
* :class:`ThreadedPlugin`: the same gRPC plugin server run in this process
  on its own thread and loop, over a test backend. :class:`FakeBase64Backend`
  is a FAKE that protects nothing (base64, like upstream's mock plugin that
  wrote the recorded KMS v2 data); :class:`SlowBackend` answers after a delay.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from e2e.harness import KcryptServer, kcrypt_command

from kcrypt.kms.proto import kmsv2_service_pb2 as pb2
from kcrypt.kms.proto import kmsv2_service_pb2_grpc as grpc2
from kcrypt.kmsplugin import PluginServer
from kcrypt.kmsplugin.backend import Backend

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "271828"


def require_softhsm() -> None:
    if shutil.which("softhsm2-util") is None or not Path(SOFTHSM_MODULE).exists():
        pytest.skip("needs Debian's softhsm2 (scripts/setup.sh installs it)")


class SoftHSMToken:
    """A fresh token labelled ``label`` whose state lives under ``root``."""

    def __init__(self, root: Path, label: str = "kcrypt-test") -> None:
        require_softhsm()
        self.root = root
        self.label = label
        (root / "tokens").mkdir(parents=True)
        self.conf = root / "softhsm2.conf"
        self.conf.write_text(
            f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n"
        )
        self.pin_file = root / "pin"
        self.pin_file.write_text(PIN + "\n")
        self.pin_file.chmod(0o600)
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                "31415926",
                "--pin",
                PIN,
            ],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def backend_args(self, key_label: str = "kcrypt-kek") -> list[str]:
        return [
            "--backend", "pkcs11",
            "--pkcs11-module", SOFTHSM_MODULE,
            "--token-label", self.label,
            "--pin-file", str(self.pin_file),
            "--key-label", key_label,
        ]  # fmt: skip


def wait_for_status(
    socket_path: Path,
    *,
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> pb2.StatusResponse:
    """The plugin's first Status answer (polling until it serves, or its process exits)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the plugin exited with {process.returncode}")
        if socket_path.exists():
            try:
                with grpc.insecure_channel(f"unix:{socket_path}") as channel:
                    stub = grpc2.KeyManagementServiceStub(channel)  # type: ignore[no-untyped-call]
                    return stub.Status(pb2.StatusRequest(), timeout=2)  # type: ignore[no-any-return]
            except grpc.RpcError as exc:
                last = exc
        time.sleep(0.1)
    raise AssertionError(f"plugin on {socket_path} did not answer: {last}")


class PluginProcess:
    """``kcrypt kms-plugin serve`` on ``socket``; logs to ``<socket>.log``."""

    def __init__(self, socket: Path, backend_args: list[str], env: dict[str, str]) -> None:
        self.socket = socket
        self.backend_args = backend_args
        self.env = env
        self.log_file = socket.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> PluginProcess:
        cmd = [*kcrypt_command(), "kms-plugin", "serve", "--listen", self.endpoint]
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [*cmd, *self.backend_args, "--debug"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
            )
        wait_for_status(self.socket, process=self.process)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash: the socket file stays behind."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def hup(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def rotate(self) -> str:
        """``kcrypt kms-plugin rotate`` on the same key store; the new key ID."""
        out = subprocess.run(
            [*kcrypt_command(), "kms-plugin", "rotate", *self.backend_args],
            env=self.env,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        return out.strip().rsplit(" ", 1)[-1]

    def __enter__(self) -> PluginProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeBase64Backend:
    """FAKE backend (protects nothing): ciphertext = base64(plaintext), key ID "1",
    like upstream's ``Base64Plugin`` that wrote kube-apiserver's recorded KMS v2 data."""

    name = "fake-base64"

    def __init__(self, key_id: str = "1") -> None:
        self.key_id = key_id

    def current_key_id(self) -> str:
        return self.key_id

    def refresh(self) -> None:
        return None

    def encrypt(self, plaintext: bytes) -> tuple[bytes, str]:
        return base64.b64encode(plaintext), self.key_id

    def decrypt(self, ciphertext: bytes, key_id: str) -> bytes:
        return base64.b64decode(ciphertext)

    def rotate(self) -> str:
        self.key_id = str(int(self.key_id) + 1)
        return self.key_id


class SlowBackend(FakeBase64Backend):
    """A FAKE backend whose Encrypt and Decrypt take ``delay`` seconds (plugin thread)."""

    name = "fake-slow"

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def encrypt(self, plaintext: bytes) -> tuple[bytes, str]:
        time.sleep(self.delay)
        return super().encrypt(plaintext)

    def decrypt(self, ciphertext: bytes, key_id: str) -> bytes:
        time.sleep(self.delay)
        return super().decrypt(ciphertext, key_id)


class ThreadedPlugin:
    """A real gRPC plugin server on ``socket``, served from its own thread and loop."""

    def __init__(self, socket: Path, backend: Backend, *, v2_version: str = "v2") -> None:
        self.socket = socket
        self.server = PluginServer(f"unix://{socket}", backend, v2_version=v2_version)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    def counts(self) -> dict[str, int]:
        return dict(self.server.counts.counts)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the plugin's loop (to change a servicer between calls)."""
        return self._run(_wrap(fn))

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def __enter__(self) -> ThreadedPlugin:
        self._thread.start()
        self._run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self.server.stop(0))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


async def _wrap(fn: Callable[[], Any]) -> Any:
    return fn()


@dataclass
class LiveServer(KcryptServer):
    """A ``kcrypt server`` that counts as started once /livez answers: with a KMS
    plugin that is not there, it runs but is not ready (as kube-apiserver)."""

    ready_path: str = "/livez"

    def start(self) -> LiveServer:
        super().start()
        return self

    def __enter__(self) -> LiveServer:
        return self.start()

    def readyz(self) -> tuple[int, str]:
        # the first check waits for the plugins' first answers (up to their timeouts)
        with self.client(timeout=60) as client:
            r = client.get("/readyz?verbose")
        return r.status_code, r.text

    def wait_ready(self, ready: bool = True, *, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            code, text = self.readyz()
            if (code == 200) == ready:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"readyz stayed {code}:\n{text}\n{self.log()[-3000:]}")
            time.sleep(0.2)


def kms_config(endpoint: str, *, name: str = "aws-encryption-provider", v2: bool = False) -> str:
    """The RKE seed's custom config (only the socket path changed); ``v2``: apiVersion v2
    (without ``cachesize``, which kube-apiserver refuses for v2)."""
    version = "                apiVersion: v2\n" if v2 else ""
    cache = "" if v2 else "                cachesize: 1000\n"
    return (
        "apiVersion: apiserver.config.k8s.io/v1\n"
        "kind: EncryptionConfiguration\n"
        "resources:\n"
        "  - resources:\n"
        "    - secrets\n"
        "    providers:\n"
        "    - kms:\n"
        f"{version}"
        f"                name: {name}\n"
        f"                endpoint: {endpoint}\n"
        f"{cache}"
        "                timeout: 3s\n"
        "    - identity: {}\n"
    )
