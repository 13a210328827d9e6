"""What an offline audit reads: a datastore opened read-only, and a config's transformers.

* Datastore: a SQLite file in kine's layout (a kcrypt ``state.db`` or k3s's
  own ``/var/lib/rancher/k3s/server/db/state.db``, opened read-only without
  the writer lock, so a running server is not disturbed), or etcd endpoints
  with the client TLS files a kubeadm cluster uses
  (``/etc/kubernetes/pki/etcd/{ca.crt,healthcheck-client.crt,...}``).
* Config: any EncryptionConfiguration kube-apiserver accepts (YAML or JSON,
  including k3s's ``encryption-config.json``), validated with upstream's rules.
  No config at all means "everything is identity": every encrypted value is
  then reported as one no key can read. KMS providers are reached at the
  config's plugin sockets (:mod:`kcrypt.audit.plugins`); values of a plugin
  that does not answer are counted under its name and reported unreadable
  with its answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from kcrypt.audit.errors import AuditError
from kcrypt.audit.plugins import OfflinePlugins, unreachable
from kcrypt.config import (
    ConfigError,
    ConfigSnapshot,
    EncryptionConfiguration,
    KMSConfiguration,
    KMSProviderFactory,
    LoadedConfig,
    Transformers,
    build_transformers,
    load,
)
from kcrypt.datastore import Datastore, DatastoreError, open_datastore
from kcrypt.envelope import Provider

__all__ = [
    "AuditConfig",
    "live_audit_config",
    "load_audit_config",
    "offline_audit_config",
    "open_offline",
]


@dataclass(frozen=True, slots=True)
class AuditConfig:
    transformers: Transformers
    known_names: tuple[str, ...]
    hash: str
    source: str


def _names(config: EncryptionConfiguration) -> tuple[str, ...]:
    names: list[str] = []
    for entry in config.resources:
        for p in entry.providers:
            for keys in (p.aescbc, p.aesgcm, p.secretbox):
                if keys is not None:
                    names.extend(k.name for k in keys.keys)
            if p.kms is not None:
                names.append(p.kms.name)
    return tuple(dict.fromkeys(names))


def load_audit_config(
    data: bytes | None, *, source: str, kms: KMSProviderFactory | None = None
) -> AuditConfig:
    """The transformers of the config bytes ``data`` (None: no config, all identity).

    KMS providers come from ``kms``; without it they are stand-ins that report
    their values unreadable (for callers that never reach a plugin).
    """
    if data is None:
        empty = EncryptionConfiguration()
        return AuditConfig(build_transformers(empty), (), "", "<no config: identity>")
    return _built(_load(data, source), source, kms or _NoPlugins())


@asynccontextmanager
async def offline_audit_config(data: bytes | None, *, source: str) -> AsyncIterator[AuditConfig]:
    """:func:`load_audit_config` with the config's KMS plugins reached at their sockets
    (see :mod:`kcrypt.audit.plugins`), closed on exit. Enter it on the event loop."""
    loaded = None if data is None else _load(data, source)
    if loaded is None or not any(p.kms for e in loaded.config.resources for p in e.providers):
        yield load_audit_config(data, source=source)
        return
    plugins = OfflinePlugins()
    try:
        await plugins.reach(loaded.config)
        yield _built(loaded, source, plugins)
    finally:
        await plugins.close()


def _built(loaded: LoadedConfig, source: str, kms: KMSProviderFactory) -> AuditConfig:
    try:
        transformers = build_transformers(loaded.config, kms=kms)
    except ConfigError as exc:
        raise AuditError(f"encryption config {source}: {exc}") from None
    return AuditConfig(transformers, _names(loaded.config), loaded.hash, source)


def _load(data: bytes, source: str) -> LoadedConfig:
    try:
        return load(data, source=source)
    except ConfigError as exc:
        raise AuditError(f"encryption config {source}: {exc}") from None


class _NoPlugins:
    """KMS providers whose plugin is never called: each value reads as unreachable."""

    def v2(self, config: KMSConfiguration) -> Provider:
        return unreachable(config, f"KMS plugin {config.name!r} is not reachable from here")

    v1 = v2


def live_audit_config(snapshot: ConfigSnapshot | None) -> AuditConfig:
    """A running server's config as it serves it (None: no config, all identity):
    its own transformers, so KMS values are opened through its plugin connections
    and the audit proves what the server serves with."""
    if snapshot is None:
        return load_audit_config(None, source="")
    config = snapshot.loaded.config
    return AuditConfig(snapshot.transformers, _names(config), snapshot.hash, "the live config")


async def open_offline(
    target: str,
    *,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
) -> Datastore:
    """A SQLite path or ``sqlite://`` URL (read-only), or etcd endpoints (with TLS files)."""
    try:
        if "://" not in target:
            return await open_datastore(f"sqlite://{Path(target).absolute()}", read_only=True)
        if target.startswith("sqlite://"):
            return await open_datastore(target, read_only=True)
        tls = {
            "ca_file": ca_file,
            "cert_file": cert_file,
            "key_file": key_file,
        }
        return await open_datastore(target, **{k: v for k, v in tls.items() if v is not None})
    except DatastoreError as exc:
        raise AuditError(str(exc)) from None
