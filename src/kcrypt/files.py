"""Atomic, private file writes for keys, tokens and credentials.

A key file that is half written after a crash, or readable by other users for
a moment, is a lost or leaked key. So every write here goes to a temporary
file in the same directory, created with the final mode (0600 by default,
never wider than asked), is fsynced, renamed over the target, and the
directory is fsynced so the rename itself survives a power cut (k3s's
``util.AtomicWrite`` does the same minus the directory sync).

This is the project's one writer of key material: every layer that writes a
key, token, credential or key-bearing config (server, encryption, RKE state,
snapshots, plugin key files) calls :func:`write_atomic`, so the rules above
hold everywhere. The temporary name is unique per call and opened with
``O_EXCL | O_NOFOLLOW``: a symlink planted at that name is refused rather
than followed, and two writers in one process never share a temp file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_writer", "ensure_private_dir", "write_atomic"]


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700 if it does not exist."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically; the file ends with ``mode``."""
    with atomic_writer(path, mode=mode) as out:
        out.write(data)


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` only when the block ends without error.

    For data too large to hold in memory (snapshots): the block writes (and may
    seek) in the temporary file; on success it is fsynced and renamed over
    ``path``, on any exception (or a crash: the temporary name starts with a
    dot and is never ``path``) ``path`` is left as it was and the temporary
    file is removed. Same rules as :func:`write_atomic`, which uses it.
    """
    directory = path.parent
    ensure_private_dir(directory)
    tmp = directory / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w+b") as out:
            os.fchmod(out.fileno(), mode)  # O_CREAT's mode is filtered by the umask
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
