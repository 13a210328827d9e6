"""Snapshots that always restore, on both datastores.

Save (:func:`save_snapshot`): the engine's own online image (SQLite's backup
API, etcd's Maintenance Snapshot stream) in a ZIP with a manifest of what it
holds and the fingerprint of every key its values need, the token-sealed
encryption state, optionally an RKE state file, and a SHA-256 over it all.
Restore (:func:`restore_snapshot`): every value is first decrypted with the
keys at hand (:func:`known_keys`: current config, keys sealed in the
snapshot, state file, key bundles); a missing key is named and nothing is
touched. Afterwards the config holds every key the data needs, the old ones
read-only.
"""

from kcrypt.snapshot.archive import verify_checksum
from kcrypt.snapshot.bundle import (
    read_bundle,
    read_keyring_file,
    write_bundle,
    write_keyring_file,
)
from kcrypt.snapshot.directory import (
    SnapshotFile,
    clean_partial,
    delete_snapshot,
    find_snapshot,
    list_snapshots,
    prepare_dir,
    prune,
    snapshot_name,
)
from kcrypt.snapshot.errors import (
    BadArchive,
    BundleError,
    ChecksumMismatch,
    MissingKey,
    MissingKeys,
    RestoreInterrupted,
    SnapshotError,
    SnapshotNotFound,
)
from kcrypt.snapshot.hooks import (
    KEY_CHANGE_NAME,
    SnapshotPolicy,
    take_scheduled_snapshot,
    take_snapshot_after_key_change,
)
from kcrypt.snapshot.keyring import (
    KeyRing,
    KnownKey,
    fingerprint,
    keys_in_config,
    keys_in_rkestate,
    keys_in_sealed_state,
    known_keys,
)
from kcrypt.snapshot.manifest import KeyNeed, Manifest
from kcrypt.snapshot.records import RESTORE_KEY, restore_pending
from kcrypt.snapshot.restore import Restored, restore_snapshot
from kcrypt.snapshot.save import Saved, keys_at_hand, save_snapshot
from kcrypt.snapshot.schedule import DEFAULT_CRON, Scheduler, next_run
from kcrypt.snapshot.status import snapshot_lines, snapshot_status
from kcrypt.snapshot.verify import read_manifest

__all__ = [
    "DEFAULT_CRON",
    "KEY_CHANGE_NAME",
    "RESTORE_KEY",
    "BadArchive",
    "BundleError",
    "ChecksumMismatch",
    "KeyNeed",
    "KeyRing",
    "KnownKey",
    "Manifest",
    "MissingKey",
    "MissingKeys",
    "RestoreInterrupted",
    "Restored",
    "Saved",
    "Scheduler",
    "SnapshotError",
    "SnapshotFile",
    "SnapshotNotFound",
    "SnapshotPolicy",
    "clean_partial",
    "delete_snapshot",
    "find_snapshot",
    "fingerprint",
    "keys_at_hand",
    "keys_in_config",
    "keys_in_rkestate",
    "keys_in_sealed_state",
    "known_keys",
    "list_snapshots",
    "next_run",
    "prepare_dir",
    "prune",
    "read_bundle",
    "read_keyring_file",
    "read_manifest",
    "restore_pending",
    "restore_snapshot",
    "save_snapshot",
    "snapshot_lines",
    "snapshot_name",
    "snapshot_status",
    "take_scheduled_snapshot",
    "take_snapshot_after_key_change",
    "verify_checksum",
    "write_bundle",
    "write_keyring_file",
]
