"""``secrets-encrypt`` on an operator's own config (``--encryption-provider-config``).

The server never rewrites that file (the operator, or ``kcrypt up``, owns
it), so only what leaves it unchanged is served:

* ``status``: the ``secrets`` providers in order (KMS ones with their API
  version and the hash of the plugin's current key ID) and the pass's progress;
* ``reencrypt``: every secret rewritten to the first provider -- for a KMS v2
  provider, to the plugin's *current* key ID, which is how a plugin-side key
  rotation reaches the stored data;
* ``rotate-keys`` on a KMS-first config: the same pass, asking nothing of
  the plugin (rotating a KMS key is the KMS's job), and the answer says so.

The pass is :class:`~kcrypt.encryption.Reencryptor` over the live config's
resources (every resource it names, as the controller's passes);
its checkpoint is keyed by the file's hash *and* the KMS key IDs, so a pass
cut short before a plugin rotation is not "resumed" after it (values before
its checkpoint would stay under the old key ID). While the plugin is
unavailable the pass pauses and resumes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kcrypt.config import ConfigError, ConfigSnapshot, ProviderConfiguration, config_hash, load_file
from kcrypt.datastore import Datastore
from kcrypt.encryption import (
    ReencryptInProgress,
    Reencryptor,
    ReencryptProgress,
    UnsupportedConfig,
    key_type,
    own_config_plan,
    parse_request,
    pass_targets,
    progress_document,
)
from kcrypt.kms import KMSProviders, ProviderInfo

__all__ = ["OwnConfigCommands"]

log = logging.getLogger("kcrypt.server.encryption")


class OwnConfigCommands:
    """status / reencrypt / rotate-keys (KMS-first) for a config the server does not own."""

    def __init__(
        self,
        path: Path,
        *,
        datastore: Datastore,
        snapshot: Callable[[], object],
        kms: KMSProviders | None,
        on_progress: Callable[[ReencryptProgress], None] | None = None,
    ) -> None:
        self.path = path
        self._ds = datastore
        self._snapshot = snapshot
        self._kms = kms
        self._on_progress = on_progress
        self._task: asyncio.Task[None] | None = None
        self._progress: ReencryptProgress | None = None
        self._error = ""

    def _providers(self) -> list[ProviderConfiguration]:
        try:
            config = load_file(self.path).config
        except (ConfigError, OSError) as exc:
            raise UnsupportedConfig(f"cannot read encryption config {self.path}: {exc}") from None
        for entry in config.resources:
            if any(r in ("secrets", "*.", "*.*") for r in entry.resources):
                return list(entry.providers)
        return []

    def _kms_info(self) -> dict[str, ProviderInfo]:
        return {p.name: p for p in (self._kms.describe() if self._kms else [])}

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def status(self) -> dict[str, Any]:
        providers = self._providers()
        info = self._kms_info()
        labels: list[str] = []
        kms_rows: list[dict[str, Any]] = []
        for p in providers:
            if p.kms is not None:
                version = "v2" if p.kms.api_version == "v2" else "v1"
                labels.append(f"KMS{version} {p.kms.name}")
                row = info.get(p.kms.name)
                kms_rows.append(
                    {
                        "name": p.kms.name,
                        "apiVersion": version,
                        "endpoint": p.kms.endpoint,
                        "keyIDHash": row.key_id_hash if row else "",
                        "healthy": row.healthy if row else None,
                    }
                )
            elif p.identity is not None:
                labels.append("")
            else:
                kind, keys = _keyed(p)
                labels.extend(f"{key_type(kind)} {k}" for k in keys)
        enabled = bool(providers) and providers[0].identity is None
        active = labels[0] if enabled and labels and labels[0] else ""
        inactive = [label for label in labels[1 if active else 0 :] if label]
        doc: dict[str, Any] = {"stage": "custom", "activekey": active, "enable": enabled}
        doc["hashmatch"] = True
        if inactive:
            doc["inactivekeys"] = inactive
        if kms_rows:
            doc["kms"] = kms_rows
        if self._progress is not None or self.running:
            doc["reencrypt"] = progress_document(
                self._progress or ReencryptProgress(total=0),
                running=self.running,
                error=self._error,
            )
        return doc

    async def apply(self, body: Mapping[str, object]) -> dict[str, Any]:
        request = parse_request(body)
        if self._kms is not None and not request.dry_run and not self.running:
            await self._kms.refresh()  # the plugin's key ID now, not as of the last poll
        providers = self._providers()
        first = providers[0] if providers else None
        kms_first = first.kms.name if first is not None and first.kms is not None else ""
        info = self._kms_info().get(kms_first)
        key_hash = info.key_id_hash if info else ""
        message = own_config_plan(request.command, kms_first=kms_first, key_id_hash=key_hash)
        if request.dry_run:
            return {"dryRun": True, "stage": "start", "reencrypt": True, "message": message}
        if self.running:
            done = self._progress.done if self._progress else 0
            raise ReencryptInProgress(f"{done} secrets done")
        digest = self._pass_hash(key_hash)
        log.info("%s", message)
        self._error = ""
        self._progress = None
        self._task = asyncio.get_running_loop().create_task(
            self._run(digest), name="kcrypt-own-config-reencrypt"
        )
        return {"message": message, "note": message, "configHash": digest}

    def _pass_hash(self, key_hash: str) -> str:
        try:
            file_hash = config_hash(self.path.read_bytes())
        except OSError:
            file_hash = ""
        return hashlib.sha256(f"{file_hash}|{key_hash}".encode()).hexdigest()

    async def _run(self, digest: str) -> None:
        try:
            snapshot = self._snapshot()
            if not isinstance(snapshot, ConfigSnapshot):
                raise UnsupportedConfig(f"no valid encryption config is live ({self.path})")
            engine = Reencryptor(
                self._ds, pass_targets(snapshot), config_hash=digest, on_progress=self._record
            )
            await engine.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the pass's end is reported, never raised
            self._error = str(exc)
            log.error("re-encryption of secrets stopped: %s", exc)

    def _record(self, progress: ReencryptProgress) -> None:
        self._progress = progress
        if self._on_progress is not None:
            self._on_progress(progress)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _keyed(p: ProviderConfiguration) -> tuple[str, list[str]]:
    for kind in ("aescbc", "aesgcm", "secretbox"):
        keys = getattr(p, kind)
        if keys is not None:
            return kind, [k.name for k in keys.keys]
    return "", []
