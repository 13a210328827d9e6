"""Supervisor endpoints for ``kcrypt secrets-encrypt`` and the live config they manage.

Its routes are :mod:`kcrypt.server.encrypt_routes`.

Who owns the config, and in which order things happen:

* The datastore's state record (``/kcrypt/encryption/state``) is the source of
  truth once it exists. :meth:`EncryptionSupervisor.start` runs before the
  server listens: the service rewrites ``<data-dir>/server/cred/
  encryption-config.json`` (0600) when it differs (logged) and the new content
  is swapped in before any request is served.
* The supervisor is the encryption controller's
  :class:`~kcrypt.encryption.ControllerHooks`: every change (a command, a
  controller step, start-up) reaches :meth:`EncryptionSupervisor.apply_config`
  as a config snapshot built once, synchronously: the controller has just
  written the file, the transformers are swapped and the metrics told the new
  hash with no ``await`` in between. The swap happens before the service
  answers or a pass starts, so no value is ever written under a key this
  server cannot read.
* A server started without ``--secrets-encryption`` serves plaintext until
  ``enable`` (or ``rotate-keys``) writes the file; from then on it uses and
  watches it, and keeps doing so after a restart (the datastore says so).
* With ``--encryption-provider-config FILE`` the file is the operator's:
  ``secrets-encrypt`` refuses to change it (k3s manages only its own file)
  and the reload controller watches that file alone. ``status``,
  ``reencrypt`` and, on a KMS-first file, ``rotate-keys`` (which leave the
  file unchanged) are served by :mod:`kcrypt.server.own_config`.

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

When a pass ends, the controller compacts the datastore's history at once
(its ``compact`` step), so no stored revision keeps a value under a replaced
key, or in plaintext after ``enable``; waiting for the periodic compactor
would take two intervals (10 minutes by default). With
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from starlette.routing import BaseRoute

from kcrypt.config import ConfigSnapshot, build_snapshot, config_hash
from kcrypt.datastore import Datastore
from kcrypt.encryption import (
    STATE_KEY,
    Action,
    ClusterSettings,
    Controller,
    ControllerSettings,
    EncryptionError,
    EncryptionService,
    EncryptionState,
    ReencryptProgress,
    ServerPublisher,
    StateStore,
    Step,
    TokenSealer,
    join_cluster,
    progress_line,
    reseal,
)
from kcrypt.kms import KMSProviders
from kcrypt.server.encrypt_routes import encrypt_routes
from kcrypt.server.leader import LeaderElection
from kcrypt.server.metrics import ReloadMetrics
from kcrypt.server.own_config import OwnConfigCommands
from kcrypt.server.reload import ReloadController
from kcrypt.server.settings import ServerSettings
from kcrypt.storage import EventRecorder, InvolvedObject, TransformerRegistry

__all__ = ["LOG_EVERY_PAGES", "EncryptionSupervisor"]

log = logging.getLogger("kcrypt.server.encryption")

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
        self.running.set(0 if p.finished else 1)
        self.total.set(p.total)
        self.done.set(p.done)
        self.rewritten.set(p.rewritten)
        self.skipped.set(p.skipped)
        self.failed.set(p.failed)
        self.rate.set(round(p.rate, 1))


class EncryptionSupervisor:
    """The server's encryption config: the controller's hooks, the routes, the reload poll."""

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
        kms: KMSProviders | None = None,
        after_pass: Callable[[str], None] | None = None,
        events: EventRecorder | None = None,
    ) -> None:
        enc = settings.encryption
        self._kms = kms
        self._after_pass = after_pass
        self._events = events
        self._node = InvolvedObject(kind="Node", name=settings.node_name, uid=settings.node_name)
        self.custom = enc.config_file is not None
        self._settings = settings
        self._ds = datastore
        self._token = token
        self.path: Path = enc.config_file or settings.paths.encryption_config
        self._registry = registry
        self._reload_metrics = reload_metrics
        self._interval = enc.reload_interval
        self._metrics = _ReencryptMetrics(metrics_registry)
        self._pages = 0
        self.reload: ReloadController | None = None
        self._reload_task: asyncio.Task[None] | None = None
        if applied_hash is not None:
            self.reload = self._new_reload(applied_hash)
        self.controller: Controller | None = None
        self.service: EncryptionService | None = None
        self._store = StateStore(
            datastore, sealer=TokenSealer(token, record_key=STATE_KEY) if token else None
        )
        self.own: OwnConfigCommands | None = None
        if self.custom:
            self.own = OwnConfigCommands(
                self.path,
                datastore=datastore,
                snapshot=lambda: registry.current,
                kms=kms,
                on_progress=self._own_progress,
            )
        else:
            ttl = enc.server_lease_ttl
            renew = max(ttl / 3.0, 0.2)
            self._elector = LeaderElection(
                datastore,
                identity=settings.node_name,
                ttl=ttl,
                renew_interval=renew,
                retry_interval=min(1.0, enc.sync_interval),
            )
            self.controller = Controller(
                datastore,
                store=self._store,
                publisher=ServerPublisher(
                    datastore, node=settings.node_name, ttl=ttl, renew_interval=renew
                ),
                hooks=self,
                settings=ControllerSettings(
                    node=settings.node_name,
                    provider=enc.provider,
                    config_path=self.path,
                    poll_interval=enc.sync_interval,
                    rotation_interval=enc.rotation_interval,
                    compaction=settings.datastore.compaction_interval > 0,
                    generated=generated,
                ),
            )
            self.service = EncryptionService(self.controller)

    # -- the controller's hooks ------------------------------------------------------------

    @property
    def elector(self) -> LeaderElection:
        return self._elector

    def build_snapshot(self, data: bytes, *, source: str, reload: bool = True) -> ConfigSnapshot:
        """The one way this server builds a config (the reload poll uses it too)."""
        return build_snapshot(data, source=source, reload=reload, kms=self._kms)

    def apply_config(self, snapshot: ConfigSnapshot) -> None:
        """Swap ``snapshot`` in at once (the controller wrote it to :attr:`path` just before).

        Synchronous on purpose: file, transformers and the metrics' hash
        change with no await between them (see the module docstring).
        """
        self._registry.swap(snapshot)
        if self.reload is None:
            self.reload = self._new_reload(snapshot.hash)
        else:
            self.reload.adopt(snapshot.hash)
        self._reload_metrics.record_success(snapshot.hash)
        log.info("encryption config %s applied (hash %s)", self.path, snapshot.hash)

    def _own_progress(self, progress: ReencryptProgress) -> None:
        """A pass over the operator's own config: progress, then a snapshot at its end."""
        self.progress(progress)
        if progress.finished and self._after_pass is not None:
            self._after_pass("re-encryption pass finished: values moved to the write key")

    def _event(self, reason: str, message: str, *, warning: bool = False) -> None:
        """A core/v1 Event on this node, as k3s records secrets-encrypt progress."""
        if self._events is not None:
            kind = "Warning" if warning else "Normal"
            self._events.emit(self._node, reason=reason, message=message, event_type=kind)

    def progress(self, progress: ReencryptProgress) -> None:
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
            doc: dict[str, Any] = {
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

    async def step_done(self, step: Step, state: EncryptionState | None) -> None:
        """Where the server acts on a saved step: the pass's job ended (keys changed,
        history compacted) -> a snapshot, when snapshots are on (the seed's advice)."""
        log.debug("encryption controller step %s done (%s)", step.action.value, step.reason)
        if step.action is Action.REMOVE_KEY:
            self._event("EncryptionKeyRemoved", step.message)
        elif step.action is Action.RECORD_ERROR:
            self._event("SecretsUpdateError", step.message, warning=True)
        if step.action in (Action.COMPACT, Action.FINISH) and self._after_pass is not None:
            self._after_pass("re-encryption pass finished: keys changed")

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Apply the datastore's state (before the server listens), then watch the file."""
        if self.controller is not None:
            await self._join()
            before = _file_hash(self.path)
            try:
                await self.controller.start()
            except EncryptionError as exc:
                log.error("secrets-encrypt state not applied: %s", exc)
            if self.controller.sync.conflict:
                log.error(
                    "encryption config %s NOT applied: %s", self.path, self.controller.sync.conflict
                )
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
            self.controller.run()
        self._start_watching()

    async def _join(self) -> None:
        """Refuse to start on a wrong token or a critical setting that differs."""
        enc = self._settings.encryption
        await reseal(self._ds, self._store, token=self._token)
        await join_cluster(
            self._ds,
            ClusterSettings(enc.secrets_encryption, enc.provider),
            node=self._settings.node_name,
            store=self._store,
        )

    async def close(self) -> None:
        """Stop the controller (a pass resumes from its checkpoint on the next start)."""
        if self.controller is not None:
            await self.controller.close()
        if self.own is not None:
            await self.own.close()
        task, self._reload_task = self._reload_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _new_reload(self, applied_hash: str) -> ReloadController:
        return ReloadController(
            self.path,
            registry=self._registry,
            metrics=self._reload_metrics,
            applied_hash=applied_hash,
            interval=self._interval,
            build=self.build_snapshot,
        )

    def _start_watching(self) -> None:
        if self.reload is None or self._reload_task is not None or self.controller is not None:
            return  # the managed file is followed by the controller, not reloaded
        with contextlib.suppress(RuntimeError):  # no running loop: start() does it later
            loop = asyncio.get_running_loop()
            self._reload_task = loop.create_task(self.reload.run(), name="kcrypt-reload")

    # -- routes ----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return encrypt_routes(self)


def _file_hash(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return config_hash(data) if data else None
