"""Snapshot errors.

    SnapshotError            base: a snapshot cannot be saved, listed, read or restored
    ├── SnapshotNotFound     no snapshot of that name in the directory
    ├── ChecksumMismatch     the file's bytes are not the ones written (damaged or altered)
    ├── BadArchive           not a kcrypt snapshot, or a part is missing or unreadable
    ├── MissingKeys          some values need keys not at hand: nothing was touched
    ├── RestoreInterrupted   a restore started and did not finish: run it again
    └── BundleError          a key bundle that cannot be read or written

Messages name snapshots, key names, fingerprints (SHA-256 of a key, never
the key) and counts; never key bytes or values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kcrypt.errors import KcryptError

__all__ = [
    "BadArchive",
    "BundleError",
    "ChecksumMismatch",
    "MissingKey",
    "MissingKeys",
    "RestoreInterrupted",
    "SnapshotError",
    "SnapshotNotFound",
]


class SnapshotError(KcryptError):
    pass


class SnapshotNotFound(SnapshotError):
    pass


class ChecksumMismatch(SnapshotError):
    def __init__(self, path: str, expected: str, found: str) -> None:
        super().__init__(
            f"snapshot {path} is damaged: its sha256 is {found}, the snapshot says {expected} "
            "(refused; nothing was touched)"
        )


class BadArchive(SnapshotError):
    pass


class RestoreInterrupted(SnapshotError):
    pass


class BundleError(SnapshotError):
    pass


@dataclass(frozen=True, slots=True)
class MissingKey:
    provider: str
    name: str
    fingerprint: str
    """``sha256:<hex>`` of the key the snapshot was taken with, or "unknown"."""
    values: int


class MissingKeys(SnapshotError):
    """The restore would leave values no key at hand can read."""

    def __init__(self, snapshot: str, missing: Sequence[MissingKey]) -> None:
        self.missing = tuple(missing)
        lines = [
            f"  {m.provider} key {m.name!r} (fingerprint {m.fingerprint}): needed by {m.values} "
            f"value{'s' if m.values != 1 else ''}"
            for m in self.missing
        ]
        super().__init__(
            f"refusing to restore {snapshot}: {sum(m.values for m in self.missing)} values need "
            "keys that are not at hand (not in the current config, not sealed in the snapshot "
            "for this token, not in a key bundle); nothing was touched. Missing:\n"
            + "\n".join(lines)
            + "\nProvide them with --key-bundle FILE (kcrypt keys export) or the token the "
            "snapshot was taken with."
        )
