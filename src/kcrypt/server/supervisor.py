"""Supervisor endpoints for ``kcrypt secrets-encrypt`` and the live config they manage.

Routes (behind the same bearer-token auth as the API)::

    GET /v1-kcrypt/encrypt/status  -> 200 k3s's EncryptionState JSON (+ "reencrypt" progress)
    PUT /v1-kcrypt/encrypt/config  -> 200 {"message": ...} (or the dry run's document)

Errors are a Kubernetes ``Status`` whose ``message`` is the real reason (k3s
only says "secret-encrypt error ID NNNNN" and leaves the reason in its log).

Who owns the config, and in which order things happen:

* The datastore's state record (``/kcrypt/encryption/state``) is the source of
  truth once it exists. :meth:`EncryptionSupervisor.start` runs before the
  server listens: the service rewrites ``<data-dir>/server/cred/
  encryption-config.json`` (0600) when it differs (logged) and the new content
  is swapped in before any request is served.
* Every change (``secrets-encrypt`` or start-up) goes through
  :meth:`EncryptionSupervisor.apply_config`, synchronously: the service has
  just written the file, the transformers are swapped and the reload
  controller is told the new hash with no ``await`` in between. The
  controller's next poll then sees the hash it already has and does nothing;
  the two paths can never apply different contents. The swap happens before
  the service answers or starts a re-encryption pass, so no value is ever
  written under a key this server cannot read.
* A server started without ``--secrets-encryption`` serves plaintext until
  ``enable`` (or ``rotate-keys``) writes the file; from then on it uses and
  watches it, and keeps doing so after a restart (the datastore says so).
* With ``--encryption-provider-config FILE`` the file is the operator's:
  ``secrets-encrypt`` refuses (k3s manages only its own file) and the reload
  controller watches that file alone.

Several servers on one datastore (issue 6, :mod:`kcrypt.encryption.ha`):

* before anything else the server joins the cluster
  (:func:`kcrypt.encryption.cluster.join_cluster`): a wrong token (the sealed
  state does not open) or a different ``--secrets-encryption`` /
  ``--secrets-encryption-provider`` stops the start with the reason;
* the state record is sealed with a key derived from the token
  (:mod:`kcrypt.encryption.sealing`);
* the server publishes its record under ``/kcrypt/servers/<node>`` with a
  lease, follows the state record by watching it (file rewritten, live swap,
  record updated), and campaigns for ``/kcrypt/reencrypt/lease`` whenever the
  state asks for a pass (:mod:`kcrypt.server.leader`);
* the managed file is owned by that sync: no reload poll runs on it, so a
  hand edit is reported as a conflict instead of being applied.

When a pass ends by removing an old key, the server that ran it compacts the
datastore's history at once (:func:`kcrypt.server.compaction.compact_now`), so
no stored revision keeps a value under the removed key; waiting for the
periodic compactor would take two intervals (10 minutes by default). With
``--compaction-interval 0`` (compaction disabled) it does not.

Re-encryption progress is reported three ways: ``status`` (text line, JSON
``reencrypt`` object), a log line every :data:`LOG_EVERY_PAGES` pages (counts
and rate only) and these gauges on ``/metrics``:

=========================================  =================================================
``kcrypt_reencrypt_running``               1 while a pass runs in this server, else 0
``kcrypt_reencrypt_total_objects``         values the current (or last) pass covers
``kcrypt_reencrypt_done_objects``          values examined so far
``kcrypt_reencrypt_rewritten_objects``     values rewritten under the write key
``kcrypt_reencrypt_skipped_objects``       values a concurrent writer changed first
``kcrypt_reencrypt_failed_objects``        values no key of the config could read
``kcrypt_reencrypt_rate_objects_per_second``  values examined per second in the pass
=========================================  =================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kcrypt.apiserver import ApiError, ClientGone, parse_json, read_body
from kcrypt.apiserver.status import status
from kcrypt.config import build_transformers, config_hash, load
from kcrypt.datastore.contract import Datastore
from kcrypt.encryption import STATE_KEY, EncryptionError, EncryptionService, ReencryptProgress
from kcrypt.encryption.cluster import ClusterSettings, join_cluster, reseal_unsealed
from kcrypt.encryption.ha import ClusterMember
from kcrypt.encryption.sealing import TokenSealer
from kcrypt.encryption.servers import ServerPublisher
from kcrypt.encryption.statestore import StateStore
from kcrypt.encryption.status import progress_line
from kcrypt.errors import KcryptError
from kcrypt.server.compaction import compact_now
from kcrypt.server.leader import LeaderElection
from kcrypt.server.metrics import ReloadMetrics
from kcrypt.server.reload import ReloadController
from kcrypt.server.settings import ServerSettings
from kcrypt.storage import EventRecorder, InvolvedObject, TransformerRegistry

__all__ = ["CONFIG_PATH", "LOG_EVERY_PAGES", "STATUS_PATH", "EncryptionSupervisor"]

log = logging.getLogger("kcrypt.server.encryption")

STATUS_PATH = "/v1-kcrypt/encrypt/status"
CONFIG_PATH = "/v1-kcrypt/encrypt/config"
_ANY_METHOD = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]
"""Every method reaches the handler, which answers k3s's 405 for the wrong one."""
LOG_EVERY_PAGES = 10
"""A progress log line every this many pages (pages of 1000 values: every 10,000)."""


class _ReencryptMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(f"kcrypt_reencrypt_{name}", doc, registry=registry)

        self.running = gauge("running", "1 while a re-encryption pass runs in this server.")
        self.total = gauge("total_objects", "Values the current or last pass covers.")
        self.done = gauge("done_objects", "Values the current or last pass has examined.")
        self.rewritten = gauge("rewritten_objects", "Values rewritten under the write key.")
        self.skipped = gauge("skipped_objects", "Values a concurrent writer changed first.")
        self.failed = gauge("failed_objects", "Values no key of the config could read.")
        self.rate = gauge("rate_objects_per_second", "Values examined per second in the pass.")

    def record(self, p: ReencryptProgress) -> None:
        self.total.set(p.total)
        self.done.set(p.done)
        self.rewritten.set(p.rewritten)
        self.skipped.set(p.skipped)
        self.failed.set(p.failed)
        self.rate.set(round(p.rate, 1))


class EncryptionSupervisor:
    """The server's encryption config: the service, the live swap and the reload poll."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        datastore: Datastore,
        registry: TransformerRegistry,
        reload_metrics: ReloadMetrics,
        metrics_registry: CollectorRegistry,
        applied_hash: str | None,
        token: str | None = None,
        generated: bool = False,
        events: EventRecorder | None = None,
    ) -> None:
        enc = settings.encryption
        self.custom = enc.config_file is not None
        self._settings = settings
        self._ds = datastore
        self._tasks: list[asyncio.Task[None]] = []
        self.cluster: ClusterMember | None = None
        self._sealer = TokenSealer(token, record_key=STATE_KEY) if token else None
        self.path: Path = enc.config_file or settings.paths.encryption_config
        self._registry = registry
        self._reload_metrics = reload_metrics
        self._interval = enc.reload_interval
        self._metrics = _ReencryptMetrics(metrics_registry)
        self._pages = 0
        self._events = events
        self._node = InvolvedObject(kind="Node", name=settings.node_name, uid=settings.node_name)
        self.controller: ReloadController | None = None
        self._reload_task: asyncio.Task[None] | None = None
        if applied_hash is not None:
            self.controller = self._new_controller(applied_hash)
        self.service: EncryptionService | None = None
        if not self.custom:
            ttl = enc.server_lease_ttl
            renew = max(ttl / 3.0, 0.2)
            self.cluster = ClusterMember(
                datastore,
                publisher=ServerPublisher(
                    datastore, node=settings.node_name, ttl=ttl, renew_interval=renew
                ),
                elector=LeaderElection(
                    datastore,
                    identity=settings.node_name,
                    ttl=ttl,
                    renew_interval=renew,
                    retry_interval=min(1.0, enc.sync_interval),
                ),
                poll_interval=enc.sync_interval,
            )
            self.service = EncryptionService(
                datastore,
                config_path=self.path,
                node_name=settings.node_name,
                provider=enc.provider,
                apply_config=self.apply_config,
                on_progress=self._on_progress,
                on_key_removed=self._key_removed,
                sealer=self._sealer,
                cluster=self.cluster,
                generated=generated,
            )
            self._metrics.running.set_function(lambda: 1.0 if self._running() else 0.0)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Apply the datastore's state (before the server listens), then watch the file."""
        if self.service is not None:
            await self._join()
            before = _file_hash(self.path)
            try:
                await self.service.start()
            except EncryptionError as exc:
                log.error("secrets-encrypt state not applied: %s", exc)
            if self.service.conflict:
                log.error("encryption config %s NOT applied: %s", self.path, self.service.conflict)
            after = _file_hash(self.path)
            if after is not None and before is not None and after != before:
                log.warning(
                    "encryption config %s differed from the datastore's state: rewritten "
                    "from the datastore (hash %s -> %s)",
                    self.path,
                    before,
                    after,
                )
            elif after is not None and before is None:
                log.info("encryption config %s written from the datastore's state", self.path)
            assert self.cluster is not None
            self._tasks.append(await self.cluster.start())
            self._tasks.append(asyncio.create_task(self.service.follow(), name="kcrypt-follow"))
        self._start_watching()

    async def _join(self) -> None:
        """Refuse to start on a wrong token or a critical setting that differs."""
        enc = self._settings.encryption
        store = StateStore(self._ds, sealer=self._sealer)
        if self._sealer is not None:
            await reseal_unsealed(self._ds, store)
        await join_cluster(
            self._ds,
            ClusterSettings(enc.secrets_encryption, enc.provider),
            node=self._settings.node_name,
            store=store,
        )

    async def close(self) -> None:
        """Stop the pass (it resumes from its checkpoint on the next start) and the poll."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self.service is not None:
            await self.service.close()
        if self.cluster is not None:
            await self.cluster.close()
        task, self._reload_task = self._reload_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def apply_config(self, data: bytes) -> None:
        """Swap ``data`` in at once (the service wrote it to :attr:`path` just before).

        Synchronous on purpose: file, transformers and the reload controller's
        hash change with no await between them (see the module docstring).
        """
        loaded = load(data, reload=True, source=str(self.path))
        transformers = build_transformers(loaded.config)
        self._registry.swap(transformers)
        if self.controller is None:
            self.controller = self._new_controller(loaded.hash)
            self._start_watching()
        else:
            self.controller.adopt(loaded.hash)
        self._reload_metrics.record_success(loaded.hash)
        log.info("encryption config %s applied (hash %s)", self.path, loaded.hash)

    def _new_controller(self, applied_hash: str) -> ReloadController:
        return ReloadController(
            self.path,
            registry=self._registry,
            metrics=self._reload_metrics,
            applied_hash=applied_hash,
            interval=self._interval,
        )

    def _start_watching(self) -> None:
        if self.controller is None or self._reload_task is not None:
            return
        if self.service is not None:
            return  # the managed file is followed by the service's sync, not reloaded
        with contextlib.suppress(RuntimeError):  # no running loop: start() does it later
            loop = asyncio.get_running_loop()
            self._reload_task = loop.create_task(self.controller.run(), name="kcrypt-reload")

    def _running(self) -> bool:
        return self.service is not None and self.service.running

    def _event(self, reason: str, message: str, *, warning: bool = False) -> None:
        """A core/v1 Event on this node, as k3s records secrets-encrypt progress."""
        if self._events is not None:
            kind = "Warning" if warning else "Normal"
            self._events.emit(self._node, reason=reason, message=message, event_type=kind)

    async def _key_removed(self) -> None:
        self._event(
            "EncryptionKeyRemoved", "an old encryption key left the config after re-encryption"
        )
        if self._settings.datastore.compaction_interval <= 0:
            return
        log.info(
            "old encryption key removed: compacting the datastore's history so that no "
            "stored revision keeps a value under it"
        )
        await compact_now(self._ds)

    def _on_progress(self, progress: ReencryptProgress) -> None:
        self._metrics.record(progress)
        if progress.done == 0 and not progress.finished:
            self._pages = 0
            self._event("SecretsUpdateStart", f"reencrypting {progress.total} secrets")
            return
        self._pages += 1
        if progress.finished:
            self._event("SecretsUpdateComplete", f"reencrypted {progress.done} secrets")
            if progress.failed:
                message = f"failed to reencrypt {progress.failed} secrets"
                self._event("SecretsUpdateError", message, warning=True)
        elif self._pages % LOG_EVERY_PAGES == 0:
            self._event("SecretsProgress", f"reencrypted {progress.done} secrets")
        if progress.finished or self._pages % LOG_EVERY_PAGES == 0:
            doc = {
                "total": progress.total,
                "done": progress.done,
                "rate": progress.rate,
                "running": not progress.finished,
                "finished": progress.finished,
                "skipped": progress.skipped,
                "failed": progress.failed,
            }
            if progress.eta is not None:
                doc["eta"] = progress.eta
            log.info("%s", progress_line(doc))

    # -- routes ----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(STATUS_PATH, self._status, methods=_ANY_METHOD),
            Route(CONFIG_PATH, self._config, methods=_ANY_METHOD),
        ]

    def _refusal(self) -> str:
        return (
            f"secrets-encrypt manages only the server's own encryption config "
            f"(server/cred/encryption-config.json); this server runs with "
            f"--encryption-provider-config {self.path}: edit that file instead "
            f"(it is reloaded automatically)"
        )

    async def _status(self, request: Request) -> Response:
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", "method not allowed")
        if self.service is None:
            return _error(400, "BadRequest", self._refusal())
        try:
            doc = await self.service.status()
        except EncryptionError as exc:
            return _error(exc.code, exc.reason, str(exc))
        except KcryptError as exc:
            log.error("secrets-encrypt status failed: %s", exc)
            return _error(500, "InternalError", str(exc))
        return JSONResponse(doc)

    async def _config(self, request: Request) -> Response:
        if request.method != "PUT":
            return _error(405, "MethodNotAllowed", "method not allowed")
        if self.service is None:
            return _error(400, "BadRequest", self._refusal())
        try:  # the API server's body reader: 3 MiB cap, hostile JSON is a 400
            body: Any = parse_json(await read_body(request))
        except ApiError as exc:
            return _error(exc.code, exc.reason, exc.message, headers=exc.headers)
        except ClientGone:
            return Response(status_code=400)
        if not isinstance(body, dict):
            return _error(400, "BadRequest", "the request body is not a JSON object")
        try:
            result = await self.service.apply(body)
        except EncryptionError as exc:
            log.warning("secrets-encrypt request refused: %s", exc)
            return _error(exc.code, exc.reason, str(exc))
        except KcryptError as exc:
            log.error("secrets-encrypt request failed: %s", exc)
            return _error(500, "InternalError", str(exc))
        return JSONResponse(result)


def _error(
    code: int, reason: str, message: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(status(code, reason, message), status_code=code, headers=headers)


def _file_hash(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return config_hash(data) if data else None
