"""RKE style: ``kcrypt etcd snapshot-save`` / ``snapshot-restore``, the state file inside.

Since RKE 1.x (rancher/rke PR #2152) ``rke etcd snapshot-save`` puts
``cluster.rkestate`` into the snapshot archive and ``snapshot-restore`` takes
it back out, so the keys come back with the data. kcrypt does the same, with
RKE's messages, and keeps the promise RKE's archive cannot: before anything is
touched every value is decrypted with the keys at hand (the state file in the
archive, the local state file, key bundles); afterwards the state file's
``desiredState.encryptionConfig`` holds today's keys plus every key the
restored data needs (old ones read-only), ``currentState`` is emptied as RKE
does, and ``kcrypt up`` deploys it to the API servers.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kcrypt.files import write_atomic
from kcrypt.snapshot.archive import RKESTATE, read_entry
from kcrypt.snapshot.directory import EXTENSION
from kcrypt.snapshot.errors import SnapshotError
from kcrypt.snapshot.keyring import KeyRing, keys_in_rkestate, known_keys
from kcrypt.snapshot.restore import Restored, restore_snapshot
from kcrypt.snapshot.rkecluster import ClusterFile, open_cluster_datastore
from kcrypt.snapshot.save import Saved, save_snapshot
from kcrypt.snapshot.verify import read_manifest

__all__ = ["RKERestored", "default_rke_name", "rke_restore", "rke_save"]

log = logging.getLogger("kcrypt.snapshot")


def default_rke_name(now: float) -> str:
    name = "rke_etcd_snapshot_" + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    log.warning("Name of the snapshot is not specified, using [%s]", name)
    return name


async def rke_save(cluster: ClusterFile, *, name: str, directory: Path, node: str) -> Saved:
    state_path = cluster.state_file
    try:
        state: bytes | None = state_path.read_bytes()
    except FileNotFoundError:
        state = None
        log.warning(
            "Could not read cluster state file from [%s], file does not exist. Snapshot will "
            "be created without cluster state file.",
            state_path,
        )
    async with open_cluster_datastore(cluster, read_only=True) as ds:
        keys = known_keys(keys_in_rkestate(state, source=str(state_path)) if state else [])
        saved = await save_snapshot(
            ds,
            directory=directory,
            name=name,
            node=node,
            reason="rke snapshot-save",
            keys=keys,
            rkestate=state,
            exact_name=True,
        )
    log.info("Finished saving/uploading snapshot [%s] on all etcd hosts", name)
    return saved


@dataclass(frozen=True, slots=True)
class RKERestored:
    restored: Restored
    state_file: Path
    state_from_snapshot: bool


def _encryption_config(state: bytes | None) -> bytes | None:
    if not state:
        return None
    try:
        text = (json.loads(state).get("desiredState") or {}).get("encryptionConfig")
    except (ValueError, AttributeError):
        return None
    return text.encode() if isinstance(text, str) and text else None


async def rke_restore(
    cluster: ClusterFile,
    *,
    name: str,
    directory: Path,
    node: str,
    keys: KeyRing,
    use_local_state: bool = False,
) -> RKERestored:
    if not name:
        raise SnapshotError("you must specify the snapshot name to restore")
    if name.endswith(EXTENSION):
        log.warning(
            "The snapshot name [%s] ends with the file extension (.zip) which is not needed, "
            "the snapshot name should be provided without the extension",
            name,
        )
        name = name.removesuffix(EXTENSION)
    path = directory / f"{name}{EXTENSION}"
    if not path.is_file():
        raise SnapshotError(f"snapshot {name} not found in {directory}")
    local_path = cluster.state_file
    local = local_path.read_bytes() if local_path.is_file() else None
    archived: bytes | None = None
    if not use_local_state:
        log.info("Checking if state file is included in snapshot file for [%s]", name)
        _, manifest = read_manifest(path)
        if manifest.rkestate:
            archived = read_entry(path, RKESTATE)
            log.info("State file is successfully extracted from snapshot [%s]", name)
        else:
            log.warning(
                "Could not extract state file from snapshot [%s] on any host, falling back to "
                "local state file: the snapshot has none",
                name,
            )
    ring = known_keys(
        keys_in_rkestate(local, source=str(local_path)) if local else [],
        list(keys),
        keys_in_rkestate(archived, source=f"snapshot {name}") if archived else [],
    )
    current = _encryption_config(local) or _encryption_config(archived)
    log.info("Restoring etcd snapshot %s", name)
    async with open_cluster_datastore(cluster, read_only=False) as ds:
        restored = await restore_snapshot(
            path,
            ds,
            token=None,
            keys=ring,
            current_config=current,
            provider="aescbc",
            node=node,
            snapshot_dir=directory,
            state_file=not use_local_state,
        )
    _write_state(local_path, archived or local, restored.config)
    log.info("Finished restoring snapshot [%s] on all etcd hosts", name)
    return RKERestored(restored, local_path, archived is not None)


def _write_state(path: Path, base: bytes | None, config: bytes) -> None:
    """RKE writes the state with an empty currentState; the merged config goes in desiredState."""
    doc: dict[str, Any] = json.loads(base) if base else {}
    desired = dict(doc.get("desiredState") or {})
    desired["encryptionConfig"] = yaml.safe_dump(json.loads(config), sort_keys=False)
    doc["desiredState"] = desired
    doc["currentState"] = {}
    write_atomic(path, json.dumps(doc, indent=2).encode())
