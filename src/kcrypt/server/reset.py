"""``kcrypt server --cluster-reset --cluster-reset-restore-path FILE``: k3s's restore, made safe.

Runs instead of serving, with every server of the cluster stopped (the
embedded SQLite file's writer lock enforces it for SQLite; for etcd the
operator stops them, as k3s's HA procedure says), then exits:

1. k3s's checks on the path (``etcd: snapshot path does not exist: ...``);
2. :func:`kcrypt.snapshot.restore_snapshot`: checksum, then every value of
   the snapshot decrypted with the keys at hand -- this server's config, its
   imported keyring, ``--key-bundle`` files, and the keys sealed in the
   snapshot if this token opens them -- refusing, with the missing key names,
   fingerprints and counts, before anything is touched; then a
   ``pre-restore`` snapshot, the data, and the encryption state with every
   key the data needs (old ones read-only);
3. the server's config file written (0600, atomic) from that state.

Then, like k3s: "restart without --cluster-reset flag now". Other servers
of an HA cluster start as they are and follow the restored state.
"""

from __future__ import annotations

import logging

from kcrypt.datastore import open_datastore
from kcrypt.files import write_atomic
from kcrypt.server.errors import InvalidSettings
from kcrypt.server.settings import ServerSettings
from kcrypt.snapshot import (
    keys_in_config,
    known_keys,
    read_bundle,
    read_keyring_file,
    restore_snapshot,
)

__all__ = ["cluster_reset"]

log = logging.getLogger("kcrypt.server")


async def cluster_reset(settings: ServerSettings, *, token: str) -> None:
    snap = settings.snapshots
    path = snap.restore_path
    if path is None:
        raise InvalidSettings("no etcd restore path was specified (--cluster-reset-restore-path)")
    if not path.exists():
        raise InvalidSettings(f"etcd: snapshot path does not exist: {path}")
    if path.is_dir():
        raise InvalidSettings(f"etcd: snapshot path must be a file, not a directory: {path}")
    if settings.encryption.config_file is not None:
        raise InvalidSettings(
            "--cluster-reset restores the server's own encryption config; with "
            "--encryption-provider-config use 'kcrypt etcd snapshot-restore' (RKE style)"
        )
    paths = settings.paths
    config_file = paths.encryption_config
    current = config_file.read_bytes() if config_file.is_file() else None
    bundles = [read_bundle(b, snap.bundle_passphrase or "") for b in snap.key_bundles]
    keys = known_keys(
        keys_in_config(current, source="current config") if current else [],
        read_keyring_file(paths.keyring),
        *bundles,
    )
    directory = snap.directory or paths.snapshot_dir
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ds = await open_datastore(settings.datastore_url)
    try:
        restored = await restore_snapshot(
            path,
            ds,
            token=token,
            keys=keys,
            current_config=current,
            provider=settings.encryption.provider,
            node=settings.node_name,
            snapshot_dir=directory,
        )
    finally:
        await ds.close()
    write_atomic(config_file, restored.config)
    log.info("encryption config %s written from the restored state", config_file)
    if restored.read_only:
        log.info(
            "keys %s were added read-only for the restored data; "
            "'kcrypt secrets-encrypt reencrypt' rewrites every value and retires them",
            ", ".join(restored.read_only),
        )
    log.info(
        "Snapshot %s restored, restart without --cluster-reset flag now. Other servers of this "
        "cluster start as they are: they follow the restored state",
        restored.snapshot,
    )
