"""What ``kcrypt server`` is told to do, grouped the way k3s groups its flags.

Frozen dataclasses with a docstring per field (kopf's settings habit): the CLI
builds one :class:`ServerSettings` from flags and nothing below the CLI reads
flags, environment variables or defaults of its own. Every derived path lives
in :class:`ServerPaths`, so the disk layout in DESIGN.md ("What lives where")
is written down once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kcrypt.encryption import KeyProvider

__all__ = [
    "DEFAULT_RELOAD_INTERVAL",
    "AuthSettings",
    "DatastoreSettings",
    "EncryptionSettings",
    "ListenSettings",
    "ServerPaths",
    "ServerSettings",
    "SnapshotSettings",
    "default_data_dir",
]


DEFAULT_RELOAD_INTERVAL = 2.0
"""Seconds between checks of the encryption config file. kube-apiserver polls
once a minute; kcrypt polls faster because a check is one small file read and
``secrets-encrypt`` flows wait on reloads."""


def default_data_dir() -> Path:
    """``/var/lib/kcrypt`` for root, ``~/.kcrypt`` otherwise (k3s's rule)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/kcrypt")
    return Path.home() / ".kcrypt"


@dataclass(frozen=True, slots=True)
class ListenSettings:
    bind_address: str = "127.0.0.1"
    """Address the HTTPS API listens on. Loopback by default, unlike k3s's
    0.0.0.0: a fresh server is not reachable from the network until asked."""

    https_listen_port: int = 6443
    """TCP port of the HTTPS API (kube-apiserver's and k3s's default)."""


@dataclass(frozen=True, slots=True)
class DatastoreSettings:
    endpoint: str | None = None
    """Datastore URL (``sqlite:///path``, ``etcd://h:p,h2:p2``, ``memory://``);
    None means the embedded SQLite file under the data dir."""

    compaction_interval: float = 300.0
    """Seconds between history compactions (kube-apiserver's
    ``--etcd-compaction-interval``, 5 minutes); 0 disables them. Compaction is
    what removes the old ciphertexts a key rotation leaves in the history."""


@dataclass(frozen=True, slots=True)
class AuthSettings:
    token: str | None = None
    """Admin bearer token; None means generate one on first start and reuse it."""

    write_kubeconfig: Path | None = None
    """An extra path to write the admin kubeconfig to (k3s's ``-o``)."""

    write_kubeconfig_mode: int = 0o600
    """File mode of the extra kubeconfig; the one under the data dir is always 0600."""


@dataclass(frozen=True, slots=True)
class EncryptionSettings:
    secrets_encryption: bool = False
    """Generate (once) and use ``server/cred/encryption-config.json`` like k3s."""

    provider: KeyProvider = "aescbc"
    """Provider of the generated config's key (k3s's ``--secrets-encryption-provider``)."""

    config_file: Path | None = None
    """A custom EncryptionConfiguration (kube-apiserver's ``--encryption-provider-config``)."""

    reload_interval: float = DEFAULT_RELOAD_INTERVAL
    """Seconds between checks of the active config file for changes."""

    server_lease_ttl: int = 15
    """Seconds after its last renewal that a server counts as down (its record's
    lease; renewed every third of it). Also the re-encryption runner's lease."""

    sync_interval: float = 1.0
    """Seconds between checks of the datastore's state besides the watch (a
    missed event costs at most this), and between convergence checks."""

    rotation_interval: float = 0.0
    """Rotate the write key (``rotate-keys``) once it is this many seconds old;
    0 = never (``--secrets-encryption-rotation-interval``; off by default)."""


@dataclass(frozen=True, slots=True)
class SnapshotSettings:
    """k3s's snapshot and restore flags (``--etcd-snapshot-*``, ``--cluster-reset*``)."""

    disabled: bool = False
    """``--etcd-disable-snapshots``: no scheduled snapshots and none after key changes."""

    schedule_cron: str = "0 */12 * * *"
    """``--etcd-snapshot-schedule-cron`` (k3s's default: 00:00 and 12:00)."""

    retention: int = 5
    """``--etcd-snapshot-retention``: snapshots kept per name prefix."""

    name: str = "etcd-snapshot"
    """``--etcd-snapshot-name``: base name of scheduled snapshots."""

    directory: Path | None = None
    """``--etcd-snapshot-dir``; None means ``<data-dir>/server/db/snapshots``."""

    cluster_reset: bool = False
    """``--cluster-reset``: restore ``restore_path`` into the datastore, then exit."""

    restore_path: Path | None = None
    """``--cluster-reset-restore-path``: the snapshot file to restore."""

    key_bundles: tuple[Path, ...] = ()
    """Key bundles (``kcrypt keys export``) whose keys a restore may use."""

    bundle_passphrase: str | None = field(default=None, repr=False)
    """The passphrase that opens ``key_bundles``."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    data_dir: Path = field(default_factory=default_data_dir)
    """Root of everything this server keeps on disk."""

    node_name: str = field(default_factory=lambda: os.uname().nodename)
    """This server's name: a TLS SAN and the identity in reload metrics."""

    listen: ListenSettings = field(default_factory=ListenSettings)
    datastore: DatastoreSettings = field(default_factory=DatastoreSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    encryption: EncryptionSettings = field(default_factory=EncryptionSettings)
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)

    @property
    def paths(self) -> ServerPaths:
        return ServerPaths(self.data_dir)

    @property
    def datastore_url(self) -> str:
        """The datastore to open: the flag, or SQLite under the data dir."""
        if self.datastore.endpoint:
            return self.datastore.endpoint
        return f"sqlite://{self.paths.sqlite_db.resolve()}"

    @property
    def active_config_file(self) -> Path | None:
        """The EncryptionConfiguration the storage layer loads, if any."""
        if self.encryption.config_file is not None:
            return self.encryption.config_file
        if self.encryption.secrets_encryption:
            return self.paths.encryption_config
        return None


@dataclass(frozen=True, slots=True)
class ServerPaths:
    """The on-disk layout under ``--data-dir`` (k3s's names where k3s has one)."""

    data_dir: Path

    @property
    def server_dir(self) -> Path:
        return self.data_dir / "server"

    @property
    def token(self) -> Path:
        return self.server_dir / "token"

    @property
    def server_url(self) -> Path:
        """The API's URL, written at start: ``secrets-encrypt -d DIR`` finds its server."""
        return self.server_dir / "url"

    @property
    def cred_dir(self) -> Path:
        return self.server_dir / "cred"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.cred_dir / "admin.kubeconfig"

    @property
    def encryption_config(self) -> Path:
        return self.cred_dir / "encryption-config.json"

    @property
    def tls_dir(self) -> Path:
        return self.server_dir / "tls"

    @property
    def sqlite_db(self) -> Path:
        return self.server_dir / "db" / "state.db"

    @property
    def snapshot_dir(self) -> Path:
        """k3s's default ``--etcd-snapshot-dir``: ``${data-dir}/server/db/snapshots``."""
        return self.server_dir / "db" / "snapshots"

    @property
    def keyring(self) -> Path:
        """Keys imported from bundles (``kcrypt keys import``), 0600."""
        return self.cred_dir / "keyring.json"
