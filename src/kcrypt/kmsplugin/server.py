"""Run the plugin: one grpc.aio server, v2 and v1beta1 on one unix socket.

The socket is created 0600 (only the API server's user may ask for keys); a
stale socket file left by a killed plugin is replaced, anything else at
that path is refused. SIGHUP rotates the key (as ``kcrypt kms-plugin
rotate``), SIGTERM/SIGINT stop the server and remove the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
from pathlib import Path

import grpc

from kcrypt.kms.endpoint import grpc_target, parse_endpoint
from kcrypt.kms.proto import kmsv1beta1_service_pb2_grpc as grpc1
from kcrypt.kms.proto import kmsv2_service_pb2_grpc as grpc2
from kcrypt.kmsplugin.backend import Backend
from kcrypt.kmsplugin.errors import PluginError
from kcrypt.kmsplugin.service import CallCounts, V1Service, V2Service

__all__ = ["PluginServer", "serve"]

log = logging.getLogger("kcrypt.kmsplugin")


class PluginServer:
    """A started plugin; :meth:`stop` ends it. Tests run it in-process too."""

    def __init__(self, listen: str, backend: Backend, *, v2_version: str = "v2") -> None:
        self.path = parse_endpoint(listen)
        self.listen = listen
        self.backend = backend
        self.counts = CallCounts()
        self.v2 = V2Service(backend, self.counts, version=v2_version)
        self.v1 = V1Service(backend, self.counts)
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        if not self.path.startswith("@"):
            _clear_stale_socket(Path(self.path))
        server = grpc.aio.server()
        grpc2.add_KeyManagementServiceServicer_to_server(self.v2, server)  # type: ignore[no-untyped-call]
        grpc1.add_KeyManagementServiceServicer_to_server(self.v1, server)  # type: ignore[no-untyped-call]
        old = os.umask(0o177)
        try:
            server.add_insecure_port(grpc_target(self.path))
            await server.start()
        finally:
            os.umask(old)
        self._server = server
        log.info(
            "kcrypt kms-plugin serving KMS v2 and v1beta1 on %s (backend %s, current key ID %s)",
            self.listen,
            self.backend.name,
            self.backend.current_key_id(),
        )

    def rotate(self) -> str:
        key_id = self.backend.rotate()
        log.info("rotated: new current key ID %s (older keys still decrypt)", key_id)
        return key_id

    async def stop(self, grace: float = 1.0) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace)
        if not self.path.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        log.info("kcrypt kms-plugin stopped (calls: %s)", self.counts.counts)


def _clear_stale_socket(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if not stat.S_ISSOCK(mode):
        raise PluginError(f"{path} exists and is not a socket; refusing to replace it")
    path.unlink()


async def serve(listen: str, backend: Backend) -> None:
    """Serve until SIGTERM/SIGINT; SIGHUP rotates the key."""
    plugin = PluginServer(listen, backend)
    await plugin.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_hup() -> None:
        try:
            plugin.rotate()
        except PluginError as exc:
            log.error("rotation failed: %s", exc)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await plugin.stop()
