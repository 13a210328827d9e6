"""The snapshot file: a ZIP archive with a SHA-256 over all of it.

Entries (RKE and k3s both ship snapshots as ZIP; standard tools open it)::

    manifest.json          what is inside and which keys it needs (manifest.py)
    datastore.<kind>       the datastore image (``Datastore.snapshot``: a kine SQLite
                           file, or the file ``etcdctl snapshot save`` writes)
    cluster.rkestate       (RKE style) the cluster state file, as it was

The archive comment is ``kcrypt-sha256:<64 hex>``: the SHA-256 of every
byte before it. A flipped byte anywhere -- an entry, the ZIP directory, the
comment itself -- makes :func:`verify_checksum` refuse the file before
anything is read from it. Files are written through
:func:`kcrypt.files.atomic_writer` (0600, temp name, fsync, rename), so a
killed ``save`` leaves no file under the snapshot's name.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from kcrypt.files import atomic_writer
from kcrypt.snapshot.errors import BadArchive, ChecksumMismatch

__all__ = [
    "MANIFEST",
    "RKESTATE",
    "extract_image",
    "image_entry",
    "read_entry",
    "verify_checksum",
    "write_archive",
]

MANIFEST = "manifest.json"
RKESTATE = "cluster.rkestate"
_TAG = b"kcrypt-sha256:"
_COMMENT = len(_TAG) + 64
_CHUNK = 1 << 20


def image_entry(kind: str) -> str:
    return f"datastore.{kind}"


def write_archive(
    path: Path, *, manifest: bytes, image: Path, kind: str, extra: Mapping[str, bytes]
) -> str:
    """Write the archive to ``path`` atomically (0600); returns its ``sha256:<hex>``."""
    with atomic_writer(path) as out:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(MANIFEST, manifest, compress_type=zipfile.ZIP_DEFLATED)
            zf.write(image, image_entry(kind))
            for name, data in extra.items():
                zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
            zf.comment = _TAG + b"0" * 64
        end = out.seek(0, 2)
        digest = _hash(out, end - _COMMENT)
        out.seek(end - 64)
        out.write(digest.encode())
    return f"sha256:{digest}"


def _hash(f: BinaryIO, length: int) -> str:
    h = hashlib.sha256()
    f.seek(0)
    left = length
    while left > 0:
        block = f.read(min(_CHUNK, left))
        if not block:
            break
        h.update(block)
        left -= len(block)
    return h.hexdigest()


def verify_checksum(path: Path) -> str:
    """The archive's ``sha256:<hex>`` if every byte is as written; else refuse."""
    try:
        with path.open("rb") as f:
            end = f.seek(0, 2)
            if end < _COMMENT:
                raise BadArchive(f"{path} is not a kcrypt snapshot (too short)")
            f.seek(end - _COMMENT)
            tail = f.read(_COMMENT)
            if not tail.startswith(_TAG):
                raise BadArchive(f"{path} is not a kcrypt snapshot (no kcrypt-sha256 comment)")
            expected = tail[len(_TAG) :].decode("ascii", "replace")
            found = _hash(f, end - _COMMENT)
    except OSError as exc:
        raise BadArchive(f"cannot read {path}: {exc.strerror or exc}") from None
    if found != expected:
        raise ChecksumMismatch(str(path), expected, found)
    return f"sha256:{found}"


def read_entry(path: Path, name: str) -> bytes | None:
    """One (small) entry's bytes; None when the archive has no such entry."""
    try:
        with zipfile.ZipFile(path) as zf:
            if name not in zf.namelist():
                return None
            return zf.read(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadArchive(f"{path}: {exc}") from None


def extract_image(path: Path, kind: str, target: Path) -> Path:
    """Copy the datastore image out to the new file ``target`` (0600)."""
    try:
        with (
            zipfile.ZipFile(path) as zf,
            zf.open(image_entry(kind)) as src,
            atomic_writer(target) as out,
        ):
            shutil.copyfileobj(src, out, _CHUNK)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise BadArchive(f"{path}: cannot extract the datastore image: {exc}") from None
    return target
