"""Atomic, private file writes for keys, tokens and credentials.

A key file that is half written after a crash, or readable by other users for
a moment, is a lost or leaked key. So every write here goes to a temporary
file in the same directory, created with the final mode (0600 by default,
never wider than asked), is fsynced, renamed over the target, and the
directory is fsynced so the rename itself survives a power cut (k3s's
``util.AtomicWrite`` does the same minus the directory sync).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["ensure_private_dir", "write_atomic"]


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700 if it does not exist."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically; the file ends with ``mode``."""
    directory = path.parent
    ensure_private_dir(directory)
    tmp = directory / f".{path.name}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        try:
            # O_CREAT's mode is filtered by the umask and ignored for an existing
            # temp file left by a crash: set it explicitly.
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
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
