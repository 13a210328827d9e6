"""The embedded datastore: kine's table in one SQLite file.

Opening does, in this order, and writes nothing before step 3:

1. takes the writer lock: an exclusive, non-blocking ``flock`` on the
   sidecar ``<db>.lock``, held until ``close()``. A second process (or a
   second open in this process) gets :class:`WriterLocked` naming the file.
   ``read_only=True`` takes no lock: it is for tools that inspect a
   ``state.db`` that k3s (or a kcrypt server) is using at the same time.
2. reads the schema. A file that is not a database, or holds a ``kine``
   table with other columns, or other applications' tables, raises
   :class:`CorruptStore` and is left byte for byte as it was.
3. (writable only) switches to WAL, creates kine's table and indexes and
   kcrypt's side tables if missing, and the ``compact_rev_key`` row.

Reads and writes run synchronously on the event-loop thread. A point read or
an insert costs tens of microseconds; a dedicated thread would cost more per
call than most calls take, and running on the loop thread is what makes
LogStructured's check-then-append atomic. The longest calls (a page of 500,
a batch of 500 puts) take a few milliseconds; compaction runs in batches that
yield to the loop in between. Only the ``COMMIT`` -- the fsync -- runs in a
thread, shared by every write that arrived while the previous one was on its
way to disk (group commit, ``commit.py``); reads use a second connection and
see committed rows only.

``synchronous`` defaults to FULL: a successful write is on disk when the
call returns, as the contract promises. NORMAL trades the last commits on
power loss (never on a process crash) for fewer fsyncs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kcrypt.datastore.errors import CorruptStore, Unavailable, WriterLocked
from kcrypt.datastore.logstructured import LogStructured
from kcrypt.datastore.sqlite import sql
from kcrypt.datastore.sqlite.log import SqliteLog, translate
from kcrypt.datastore.sqlite.schema import KCRYPT_DDL, KINE_DDL, SchemaProblem, check_tables

__all__ = ["lock_path", "open_sqlite", "open_sqlite_image", "sqlite_endpoint"]

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_endpoint(path: Path) -> str:
    return f"sqlite://{path}"


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock(path: Path, endpoint: str) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WriterLocked(endpoint) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _tables(db: sqlite3.Connection) -> dict[str, list[str]]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: [c[1] for c in db.execute(f"PRAGMA table_info({n!r})")] for n in names}


def _prepare(db: sqlite3.Connection, *, read_only: bool, synchronous: str) -> bool:
    """Check (and, if writable, create) the schema; returns whether the
    file has kcrypt's side tables."""
    tables = _tables(db)
    has_kine = check_tables(tables)
    db.execute("PRAGMA busy_timeout = 5000")
    if read_only:
        if not has_kine:
            raise SchemaProblem("no kine table")
        return "kcrypt_version" in tables and "kcrypt_lease" in tables
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"cannot switch the journal to WAL (mode {mode})")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    # Deleted rows are zeroed, not left in free pages: compaction exists to
    # remove old ciphertexts (a removed key's values) from the disk, not only
    # from the table.
    db.execute("PRAGMA secure_delete = ON")
    db.execute("BEGIN IMMEDIATE")
    try:
        for stmt in (*KINE_DDL, *KCRYPT_DDL):
            db.execute(stmt)
        if db.execute(sql.COMPACT_REV).fetchone()[0] is None:
            db.execute(sql.INIT_COMPACT_ROW)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return True


async def open_sqlite(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    synchronous: str = "FULL",
    **options: Any,
) -> LogStructured:
    """Open (or create) the SQLite datastore at ``path``.

    ``options`` go to :class:`LogStructured` (``poll_interval``, ...)."""
    file = Path(path).expanduser().absolute()
    endpoint = sqlite_endpoint(file)
    if synchronous.upper() not in _SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}")
    if read_only and not file.is_file():
        raise Unavailable(endpoint, "no such file")
    fd = None if read_only else _lock(file, endpoint)
    db: sqlite3.Connection | None = None
    reader: sqlite3.Connection | None = None
    try:
        if read_only:
            uri = f"file:{quote(str(file))}?mode=ro"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            if not file.exists():  # values are secrets: the file is the owner's only
                os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            db = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
        versions = _prepare(db, read_only=read_only, synchronous=synchronous.upper())
        if read_only:
            reader = db
        else:  # committed rows only, never blocked by the writer (WAL)
            reader = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA busy_timeout = 5000")
    except BaseException as exc:
        if reader is not None and reader is not db:
            reader.close()
        if db is not None:
            db.close()
        if fd is not None:
            os.close(fd)
        if isinstance(exc, SchemaProblem):
            raise CorruptStore(endpoint, str(exc)) from None
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, endpoint) from exc
        raise

    def release() -> None:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    log = SqliteLog(
        reader,
        db,
        endpoint=endpoint,
        read_only=read_only,
        versions=versions,
        path=file,
        on_close=release,
    )
    store = LogStructured(log, **options)
    store.start()
    return store


async def open_sqlite_image(path: Path, **options: Any) -> LogStructured:
    """An image :meth:`SqliteLog.snapshot` wrote is a kine file: open it read-only."""
    return await open_sqlite(path, read_only=True, **options)
