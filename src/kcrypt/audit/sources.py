"""What an offline audit reads: a datastore opened read-only, and a config's transformers.

* Datastore: a SQLite file in kine's layout (a kcrypt ``state.db`` or k3s's
  own ``/var/lib/rancher/k3s/server/db/state.db``, opened read-only without
  the writer lock, so a running server is not disturbed), or etcd endpoints
  with the client TLS files a kubeadm cluster uses
  (``/etc/kubernetes/pki/etcd/{ca.crt,healthcheck-client.crt,...}``).
* Config: any EncryptionConfiguration kube-apiserver accepts (YAML or JSON,
  including k3s's ``encryption-config.json``), validated with upstream's rules.
  No config at all means "everything is identity": every encrypted value is
  then reported as one no key can read. KMS providers need their plugin; an
  offline audit has none, so their values are counted under the plugin's
  name and reported unreadable with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kcrypt.audit.errors import AuditError
from kcrypt.config import (
    ConfigError,
    ConfigSnapshot,
    EncryptionConfiguration,
    Transformers,
    build_transformers,
    config_hash,
    load,
)
from kcrypt.datastore import Datastore, DatastoreError, open_datastore
from kcrypt.envelope import KMSEncryptResponse, KMSError, KMSStatus

__all__ = ["AuditConfig", "live_audit_config", "load_audit_config", "open_offline"]


@dataclass(frozen=True, slots=True)
class AuditConfig:
    transformers: Transformers
    known_names: tuple[str, ...]
    hash: str
    source: str


class _NoPlugin:
    """A KMS v2 plugin an offline audit cannot reach: every call fails with the reason."""

    def __init__(self, name: str) -> None:
        self.why = f"KMS plugin {name!r} is not reachable from an offline audit"

    def status(self) -> KMSStatus:
        raise KMSError(self.why)

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        raise KMSError(self.why)

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        raise KMSError(self.why)


class _NoPluginV1:
    """The same for a KMS v1 plugin."""

    def __init__(self, name: str) -> None:
        self.why = _NoPlugin(name).why

    def encrypt(self, plain: bytes) -> bytes:
        raise KMSError(self.why)

    def decrypt(self, cipher: bytes) -> bytes:
        raise KMSError(self.why)


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


def load_audit_config(data: bytes | None, *, source: str) -> AuditConfig:
    """The transformers of the config bytes ``data`` (None: no config, all identity)."""
    if data is None:
        empty = EncryptionConfiguration()
        return AuditConfig(build_transformers(empty), (), "", "<no config: identity>")
    try:
        loaded = load(data, source=source)
        kms = [p.kms for e in loaded.config.resources for p in e.providers if p.kms is not None]
        transformers = build_transformers(
            loaded.config,
            kms_v2_clients={k.name: _NoPlugin(k.name) for k in kms if k.api_version == "v2"},
            kms_v1_clients={k.name: _NoPluginV1(k.name) for k in kms if k.api_version == "v1"},
        )
    except ConfigError as exc:
        raise AuditError(f"encryption config {source}: {exc}") from None
    return AuditConfig(transformers, _names(loaded.config), config_hash(data), source)


def live_audit_config(snapshot: ConfigSnapshot | None) -> AuditConfig:
    """A running server's config as it serves it (None: no config, all identity):
    its own transformers, so KMS values are opened through its plugin connections
    -- an offline audit can only report them unreachable."""
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
