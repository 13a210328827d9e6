"""The snapshot directory: k3s's names, listing, deletion and retention.

A snapshot is ``<dir>/<name>-<node>-<unix time>.zip`` (k3s:
``fmt.Sprintf("%s-%s-%d", name, node, now.Unix())``, ``.zip`` as k3s names a
compressed one). ``ls`` shows only finished snapshots: a ``save`` in progress
writes under a hidden temporary name (``.<name>.tmp-...``) and renames when
done, so a save killed with SIGKILL leaves nothing that is listed or pruned
as a snapshot; :func:`clean_partial` removes such leftovers later.

Retention follows k3s: only snapshots whose name starts with the given prefix
count, ordered by the time in their name (the file's mtime when it has
none); the oldest beyond ``retention`` are deleted; ``retention < 1`` keeps
everything.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from kcrypt.files import ensure_private_dir
from kcrypt.snapshot.errors import SnapshotError, SnapshotNotFound

__all__ = [
    "EXTENSION",
    "SnapshotFile",
    "clean_partial",
    "delete_snapshot",
    "find_snapshot",
    "list_snapshots",
    "prepare_dir",
    "prune",
    "snapshot_name",
]

log = logging.getLogger("kcrypt.snapshot")

EXTENSION = ".zip"
_PARTIAL_AGE = 3600.0


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    name: str
    """File name without ``.zip``."""
    path: Path
    size: int
    created: float

    @property
    def location(self) -> str:
        return f"file://{self.path}"


def snapshot_name(base: str, node: str, now: float) -> str:
    return f"{base}-{node}-{round(now)}"


def prepare_dir(directory: Path, *, default: bool) -> Path:
    """The default directory is created (0700); a directory the operator named must exist."""
    if default:
        ensure_private_dir(directory)
    elif not directory.is_dir():
        raise SnapshotError(f"failed to get etcd-snapshot-dir: {directory} is not a directory")
    return directory


def _created(path: Path, name: str) -> float:
    stamp = name.rsplit("-", 1)[-1]
    if stamp.isdigit():
        return float(stamp)
    return path.stat().st_mtime


def list_snapshots(directory: Path) -> list[SnapshotFile]:
    """Finished snapshots, oldest first."""
    if not directory.is_dir():
        return []
    out: list[SnapshotFile] = []
    for entry in directory.iterdir():
        if entry.name.startswith(".") or not entry.name.endswith(EXTENSION) or not entry.is_file():
            continue
        name = entry.name[: -len(EXTENSION)]
        out.append(SnapshotFile(name, entry, entry.stat().st_size, _created(entry, name)))
    return sorted(out, key=lambda s: (s.created, s.name))


def find_snapshot(directory: Path, name: str) -> SnapshotFile:
    """By name (with or without ``.zip``), or a path to a snapshot file."""
    candidate = Path(name)
    if candidate.is_file():
        stem = candidate.name.removesuffix(EXTENSION)
        st = candidate.stat()
        return SnapshotFile(stem, candidate.absolute(), st.st_size, _created(candidate, stem))
    stem = name.removesuffix(EXTENSION)
    for snap in list_snapshots(directory):
        if snap.name == stem:
            return snap
    raise SnapshotNotFound(f"snapshot {stem} not found in {directory}")


def delete_snapshot(directory: Path, name: str) -> SnapshotFile:
    snap = find_snapshot(directory, name)
    snap.path.unlink()
    return snap


def prune(directory: Path, prefix: str, retention: int) -> list[SnapshotFile]:
    """Delete the oldest snapshots named ``prefix...`` beyond ``retention``; the deleted."""
    if retention < 1:
        return []
    log.info(
        "Applying snapshot retention=%d to local snapshots with prefix %s in %s",
        retention,
        prefix,
        directory,
    )
    matching = [s for s in list_snapshots(directory) if s.name.startswith(prefix)]
    doomed = matching[: max(len(matching) - retention, 0)]
    for snap in doomed:
        snap.path.unlink(missing_ok=True)
        log.info("Removed snapshot %s", snap.name)
    return doomed


def clean_partial(directory: Path, *, now: float | None = None) -> int:
    """Remove temporary files and work directories of saves that died (older than an
    hour, so a save running now is never touched); how many."""
    if not directory.is_dir():
        return 0
    limit = (time.time() if now is None else now) - _PARTIAL_AGE
    removed = 0
    for entry in directory.iterdir():
        if not (entry.name.startswith(".") and ".tmp-" in entry.name):
            continue
        if entry.stat().st_mtime >= limit:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            os.unlink(entry)
        removed += 1
    return removed
