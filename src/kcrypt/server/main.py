"""``kcrypt server``'s process: disk state, datastore, storage, API, controllers.

Start-up order matters and is the same on every start:

1. the data dir's private files: token, TLS material, the generated encryption
   config (``--secrets-encryption``) -- all 0600 and atomic;
2. the active encryption config is loaded and validated *before* anything
   listens: a bad file stops the server with the file's name and upstream's
   message (exit code 1), exactly when kube-apiserver would refuse to start;
3. the datastore, the object store over it, the default namespaces;
4. the admin kubeconfig, whose path is printed;
5. the encryption supervisor (:mod:`kcrypt.server.supervisor`): the datastore's
   ``secrets-encrypt`` state is applied (file rewritten if it differs, live
   swap) and an interrupted re-encryption pass resumes;
6. HTTPS (uvicorn with uvloop and httptools) plus the reload controller.

SIGTERM and SIGINT stop accepting connections, give open requests a few
seconds, then close the datastore; the process exits 0. Logs name files,
hashes, addresses and counts, never the token, keys or secret data (uvicorn's
access log is off: it would log every request path at full request rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from prometheus_client import CollectorRegistry

from kcrypt.apiserver import TokenAuthenticator, create_app, ensure_default_namespaces
from kcrypt.config import ConfigError, LoadedConfig, build_transformers, load_file
from kcrypt.datastore import open_datastore
from kcrypt.datastore.contract import Datastore
from kcrypt.server.encryption_files import ensure_encryption_config
from kcrypt.server.errors import InvalidSettings, StartupConfigError
from kcrypt.server.files import ensure_private_dir
from kcrypt.server.health import health_routes
from kcrypt.server.kubeconfig import kubeconfig_server_url, render_kubeconfig, write_kubeconfig
from kcrypt.server.metrics import ReloadMetrics, metrics_route
from kcrypt.server.settings import ServerSettings
from kcrypt.server.supervisor import EncryptionSupervisor
from kcrypt.server.tls import TLSFiles, ensure_tls
from kcrypt.server.token import ensure_token
from kcrypt.storage import ObjectStore, StorageMetrics, TransformerRegistry

__all__ = ["PreparedFiles", "prepare_files", "run_server"]

log = logging.getLogger("kcrypt.server")

_GRACEFUL_SHUTDOWN_SECONDS = 5


@dataclass(frozen=True, slots=True)
class PreparedFiles:
    """What the disk gave the server: credentials and the loaded config."""

    token: str
    tls: TLSFiles
    config_file: Path | None
    loaded: LoadedConfig | None


def prepare_files(settings: ServerSettings) -> PreparedFiles:
    """Steps 1-2 of the start-up (no network, no datastore)."""
    enc = settings.encryption
    if enc.config_file is not None and enc.secrets_encryption:
        raise InvalidSettings(
            "--secrets-encryption generates its own config; "
            "do not combine it with --encryption-provider-config"
        )
    if enc.reload_interval <= 0:
        raise InvalidSettings("--reload-interval must be positive")
    paths = settings.paths
    ensure_private_dir(paths.server_dir)
    token = ensure_token(paths.token, given=settings.auth.token)
    tls = ensure_tls(
        paths.tls_dir,
        bind_address=settings.listen.bind_address,
        node_name=settings.node_name,
    )
    if enc.secrets_encryption:
        ensure_encryption_config(paths.encryption_config, provider=enc.provider)
    config_file = settings.active_config_file
    loaded = _load_config(config_file) if config_file is not None else None
    return PreparedFiles(token=token, tls=tls, config_file=config_file, loaded=loaded)


def _load_config(path: Path) -> LoadedConfig:
    try:
        return load_file(path)
    except ConfigError as exc:
        raise StartupConfigError(path, str(exc)) from exc
    except OSError as exc:
        raise StartupConfigError(path, exc.strerror or type(exc).__name__) from exc


async def run_server(settings: ServerSettings) -> None:
    """Run until SIGTERM/SIGINT; raises KcryptError subclasses on bad start-up input."""
    files = prepare_files(settings)
    try:
        transformers = build_transformers(files.loaded.config) if files.loaded else None
    except ConfigError as exc:
        assert files.config_file is not None
        raise StartupConfigError(files.config_file, str(exc)) from exc
    registry = TransformerRegistry(transformers)

    datastore = await open_datastore(settings.datastore_url)
    try:
        await _serve(settings, files=files, registry=registry, datastore=datastore)
    finally:
        await datastore.close()
        log.info("datastore closed")


async def _serve(
    settings: ServerSettings,
    *,
    files: PreparedFiles,
    registry: TransformerRegistry,
    datastore: Datastore,
) -> None:
    metrics_registry = CollectorRegistry(auto_describe=True)
    store = ObjectStore(datastore, registry, metrics=StorageMetrics(metrics_registry))
    await ensure_default_namespaces(store)

    reload_metrics = ReloadMetrics(metrics_registry, apiserver_id=f"kcrypt-{settings.node_name}")
    applied_hash = files.loaded.hash if files.loaded is not None else None
    if files.loaded is not None and files.config_file is not None:
        reload_metrics.record_config_info(files.loaded.hash)
        log.info("encryption config %s loaded (hash %s)", files.config_file, files.loaded.hash)
    supervisor = EncryptionSupervisor(
        settings,
        datastore=datastore,
        registry=registry,
        reload_metrics=reload_metrics,
        metrics_registry=metrics_registry,
        applied_hash=applied_hash,
    )
    # The datastore's encryption state wins over the file; applied before listening.
    await supervisor.start()
    if supervisor.controller is None:
        log.info("no encryption config: values are stored unencrypted (identity)")

    app = create_app(
        store=store,
        token_check=TokenAuthenticator(files.token),
        extra_routes=(
            *health_routes(datastore=datastore),
            metrics_route(metrics_registry),
            *supervisor.routes(),
        ),
        metrics_registry=metrics_registry,
    )
    _write_kubeconfigs(settings, files)

    config = uvicorn.Config(
        app,
        host=settings.listen.bind_address,
        port=settings.listen.https_listen_port,
        ssl_certfile=str(files.tls.cert),
        ssl_keyfile=str(files.tls.key),
        loop="none",  # run_server already runs on the caller's (uv)loop
        http="httptools",
        lifespan="auto",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = _Server(config)
    log.info(
        "kcrypt server listening on %s (datastore %s)",
        kubeconfig_server_url(settings.listen.bind_address, settings.listen.https_listen_port),
        datastore.endpoint,
    )
    try:
        await server.serve()
    finally:
        await supervisor.close()


def _write_kubeconfigs(settings: ServerSettings, files: PreparedFiles) -> None:
    content = render_kubeconfig(
        server_url=kubeconfig_server_url(
            settings.listen.bind_address, settings.listen.https_listen_port
        ),
        ca_pem=files.tls.ca_pem(),
        token=files.token,
    )
    admin = settings.paths.admin_kubeconfig
    write_kubeconfig(admin, content)
    log.info("Wrote kubeconfig %s", admin)
    extra = settings.auth.write_kubeconfig
    if extra is not None:
        write_kubeconfig(extra, content, mode=settings.auth.write_kubeconfig_mode)
        log.info("Wrote kubeconfig %s", extra)


class _Server(uvicorn.Server):
    """uvicorn's server without its signal re-raise.

    uvicorn restores the previous handlers after a graceful stop and raises
    the caught signal again, which would kill the process (SIGTERM) before
    the datastore is closed. kcrypt handles the signals on the loop instead
    and returns normally, so clean-up runs and the exit code is 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only; an embedding program stops us
            return
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM)
        for sig in handled:
            loop.add_signal_handler(sig, self._on_signal(sig))
        try:
            yield
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Drop idle keep-alive connections at once, then shut down as uvicorn does.

        uvicorn closes an idle TLS connection politely and waits for the
        client's close_notify, which a client idling in its connection pool
        never sends: every such client would delay a SIGTERM by the whole
        grace period. Requests in flight still get the grace period.
        """
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            transport = getattr(connection, "transport", None)
            if transport is not None and (cycle is None or cycle.response_complete):
                transport.abort()
        await super().shutdown(sockets)

    def _on_signal(self, sig: signal.Signals) -> Callable[[], None]:
        def handler() -> None:
            log.info("received %s, shutting down", sig.name)
            self.handle_exit(sig, None)

        return handler
