"""Automatic reload of the encryption config file (kube-apiserver's
``--encryption-provider-config-automatic-reload``, always on, as in k3s).

The rule: the transformers in use are built from the file's current content,
unless that content is invalid, in which case the last valid ones stay. Each
poll hashes the file (the same ``config_hash`` the metrics and k3s use); a new
hash is loaded, validated, built into transformers and swapped into the
registry atomically, so a request sees either the old chain or the new one.

Differences from upstream, on purpose:

* The poll interval defaults to 2 s, not one minute: a check is one small
  file read, and rotation procedures wait for reloads.
* An invalid file is reported once per distinct content (one error line, one
  ``failure`` count), not retried with back-off: retrying unchanged bytes
  cannot succeed, and a metric that counts retries hides how many bad edits
  there were. Fixing the file (or putting the old content back) ends it.

Log lines name the file and the config layer's message (upstream's text),
never key material.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kcrypt.config import (
    ConfigError,
    KMSProviderFactory,
    Transformers,
    build_transformers,
    config_hash,
    load_file,
)
from kcrypt.server.metrics import ReloadMetrics

__all__ = ["ReloadController", "ReloadOutcome", "ReloadResult"]

log = logging.getLogger("kcrypt.server.reload")

CONTROLLER_NAME = "encryption-provider-config-automatic-reload-controller"


class _Swappable(Protocol):
    """What the reload needs of ``storage.TransformerRegistry``."""

    def swap(self, new: Transformers | None, /) -> None: ...


class ReloadOutcome(enum.Enum):
    UNCHANGED = "unchanged"
    RELOADED = "reloaded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReloadResult:
    outcome: ReloadOutcome
    hash: str
    """Hash of the config in use after this check."""
    error: str | None = None
    """Why the file's current content is not in use (FAILED only)."""


class ReloadController:
    """Polls ``path`` and swaps transformers into ``registry`` when it changes."""

    def __init__(
        self,
        path: Path,
        *,
        registry: _Swappable,
        metrics: ReloadMetrics,
        applied_hash: str,
        interval: float,
        kms: KMSProviderFactory | None = None,
    ) -> None:
        self._path = path
        self._kms = kms
        self._registry = registry
        self._metrics = metrics
        self._applied_hash = applied_hash
        self._rejected_hash: str | None = None
        self._rejected_error: str | None = None
        self._interval = interval

    @property
    def applied_hash(self) -> str:
        return self._applied_hash

    def adopt(self, applied_hash: str) -> None:
        """The server swapped in the file's content itself (``secrets-encrypt``).

        The writer wrote the file, then swapped, then called this, with no await
        in between: the next poll sees the same hash and does nothing, so the
        two paths never apply one content twice or race each other.
        """
        self._applied_hash = applied_hash
        self._rejected_hash = None

    async def run(self) -> None:
        """Poll until cancelled."""
        log.info("%s: watching %s every %.1fs", CONTROLLER_NAME, self._path, self._interval)
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.check()
            except Exception:  # never let one bad poll end reloading for good
                log.exception("%s: unexpected error while checking %s", CONTROLLER_NAME, self._path)

    def check(self) -> ReloadResult:
        """One poll: reload if the file's content changed since the last applied one."""
        try:
            raw = self._path.read_bytes()
        except OSError as exc:
            return self._reject(f"missing:{exc.errno}", f"cannot read file: {exc.strerror}")
        new_hash = config_hash(raw)
        if new_hash == self._applied_hash:
            self._rejected_hash = None
            return ReloadResult(ReloadOutcome.UNCHANGED, self._applied_hash)
        if new_hash == self._rejected_hash:
            return ReloadResult(
                ReloadOutcome.FAILED, self._applied_hash, error=self._rejected_error
            )
        try:
            loaded = load_file(self._path, reload=True)
            transformers = build_transformers(loaded.config, kms=self._kms)
        except ConfigError as exc:
            return self._reject(new_hash, str(exc))
        self._registry.swap(transformers)
        self._applied_hash = loaded.hash
        self._rejected_hash = None
        self._metrics.record_success(loaded.hash)
        log.info(
            "%s: loaded new encryption config from %s (hash %s)",
            CONTROLLER_NAME,
            self._path,
            loaded.hash,
        )
        return ReloadResult(ReloadOutcome.RELOADED, loaded.hash)

    def _reject(self, rejected: str, message: str) -> ReloadResult:
        if rejected != self._rejected_hash:
            self._rejected_hash = rejected
            self._rejected_error = message
            self._metrics.record_failure()
            log.error(
                "error processing encryption config file %s: %s (keeping the config with hash %s)",
                self._path,
                message,
                self._applied_hash,
            )
        return ReloadResult(ReloadOutcome.FAILED, self._applied_hash, error=message)
