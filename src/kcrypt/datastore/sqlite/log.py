"""The :class:`~kcrypt.datastore.logstructured.Log` over kine's ``kine`` table.

Two ``sqlite3`` connections to the file (WAL): reads (``SqliteLog`` itself)
run on the reader connection and see committed rows only; write blocks
(:meth:`SqliteLog.writing`, a :class:`SqliteWriter`) run on the writer
connection, whose open transaction also holds the not yet committed writes
of the current batch (see ``commit.py`` for the group commit). Both are used
from the event-loop thread; only the ``COMMIT`` runs in the commit thread,
never at the same time as a write block. Each append is atomic (a savepoint
inside the batch); revisions are the table's AUTOINCREMENT ids, so they never
go back even when compaction deletes the newest row. sqlite3 errors become
datastore errors in :func:`translate`, the only place that knows sqlite3's
error names.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote

from kcrypt.datastore.contract import KeyValue
from kcrypt.datastore.errors import CorruptStore, DatastoreError, Unavailable
from kcrypt.datastore.logstructured import Draft, Lease, Row
from kcrypt.datastore.sqlite import sql
from kcrypt.datastore.sqlite.commit import GroupCommit

__all__ = ["IMAGE_KIND", "SqliteLog", "SqliteWriter", "backup", "translate"]

IMAGE_KIND = "sqlite"

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound="_Reads")


def translate(exc: sqlite3.Error, endpoint: str) -> DatastoreError:
    """The one mapping from sqlite3 errors to datastore errors."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in text:
        return CorruptStore(endpoint, text)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return Unavailable(endpoint, "the datastore was opened read-only; writes are refused")
    if isinstance(exc, sqlite3.IntegrityError):
        return Unavailable(endpoint, f"a write conflicted with another writer of the file ({text})")
    return Unavailable(endpoint, text)


def _translated(
    method: Callable[Concatenate[R, P], T],
) -> Callable[Concatenate[R, P], T]:
    @functools.wraps(method)
    def wrapper(self: R, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise translate(exc, self.endpoint) from exc

    return wrapper


def backup(source: Path, target: Path) -> int:
    """Copy the database ``source`` to the new file ``target``; its revision.

    One ``backup(pages=-1)`` step is one read transaction, i.e. one WAL
    snapshot: consistent, and writers on other connections are not blocked.
    A *stepped* backup restarts whenever another connection writes between
    steps, and never finishes under a steady writer (research note §4), so it
    is never used. The copy is switched to ``journal_mode=DELETE`` (one
    self-contained file) and must pass ``integrity_check``.
    """
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    uri = f"file:{quote(str(source))}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.execute("PRAGMA busy_timeout = 5000")
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode = DELETE")
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy fails its integrity check: {check}")
        revision = int(dst.execute(sql.CURRENT_REV).fetchone()[0] or 0)
    with open(target, "rb") as f:
        os.fsync(f.fileno())
    return revision


def _name(row: Row) -> str:
    return row.name


def _row(t: tuple[Any, ...]) -> Row:
    rid, name, created, deleted, crev, prev, lease, value, old, version, old_lease = t
    return Row(
        rid,
        str(name),
        bool(created),
        bool(deleted),
        rid if created else (crev or 0),
        prev or 0,
        lease or 0,
        bytes(value or b""),
        bytes(old or b""),
        version,
        old_lease or 0,
    )


class _Reads:
    """The read side of the Log protocol over one connection."""

    def __init__(
        self, db: sqlite3.Connection, *, endpoint: str, read_only: bool, versions: bool
    ) -> None:
        self._db = db
        self._endpoint = endpoint
        self._read_only = read_only
        self._versions = versions
        self._latest = sql.latest_sql(versions=versions)
        self._current = sql.current_sql(versions=versions)
        self._latest_many = sql.latest_many_sql(versions=versions)
        self._with_lease = sql.live_with_lease_sql(versions=versions)

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def read_only(self) -> bool:
        return self._read_only

    def _scalar(self, query: str, *args: Any) -> Any:
        row = self._db.execute(query, args).fetchone()
        return None if row is None else row[0]

    @_translated
    def current_revision(self) -> int:
        return int(self._scalar(sql.CURRENT_REV) or 0)

    @_translated
    def compact_revision(self) -> int:
        return int(self._scalar(sql.COMPACT_REV) or 0)

    @_translated
    def latest(self, name: str, *, revision: int = 0) -> Row | None:
        found = self._db.execute(self._latest, (name, revision or sql.MAX_REVISION)).fetchone()
        return None if found is None else _row(found)

    @_translated
    def current(self, name: str) -> KeyValue | None:
        found = self._db.execute(self._current, (name,)).fetchone()
        if found is None:
            return None
        rid, created, deleted, crev, lease, value, version = found
        if deleted:
            return None
        return KeyValue(name, bytes(value or b""), rid if created else (crev or 0), rid, version,
                        lease or 0)  # fmt: skip

    @_translated
    def latest_many(self, names: Sequence[str]) -> dict[str, Row]:
        out: dict[str, Row] = {}
        for i in range(0, len(names), 5000):
            chunk = json.dumps(list(names[i : i + 5000]))
            for t in self._db.execute(self._latest_many, (chunk,)):
                row = _row(t)
                out[row.name] = row
        return out

    @_translated
    def live(
        self,
        lo: str,
        hi: str | None,
        *,
        after: str | None,
        limit: int,
        revision: int,
        values: bool = True,
    ) -> list[KeyValue]:
        """Pages of ``limit`` names (see ``sql.live_sql``); a page that tombstones
        made short is topped up from after its last name, in the same snapshot."""
        if after is not None and after < lo:
            after = None  # every name in the range is after it
        args = {"lo": lo, "hi": hi, "after": after, "rev": revision, "limit": limit}
        out: list[KeyValue] = []
        with self._snapshot():
            while True:
                query = sql.live_sql(
                    versions=self._versions,
                    has_hi=hi is not None,
                    has_after=args["after"] is not None,
                    limited=limit > 0,
                    values=values,
                )
                found = self._db.execute(query, args).fetchall()
                out.extend(KeyValue(*t[:6]) for t in found if not t[6])
                if limit <= 0 or len(found) < limit or len(out) >= limit:
                    return out[:limit] if limit > 0 else out
                args["after"] = found[-1][0]

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several statements that must see one state of the file: a read
        transaction, unless the connection is already inside one (a write block)."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    @_translated
    def written_since(
        self, lo: str, hi: str | None, *, revision: int, excluding: Sequence[tuple[int, int]]
    ) -> list[Row]:
        query = sql.written_since_sql(versions=self._versions, has_hi=hi is not None)
        ranges = json.dumps(list(excluding))
        args = {"lo": lo, "hi": hi, "rev": sql.MAX_REVISION, "since": revision, "ranges": ranges}
        return sorted((_row(t) for t in self._db.execute(query, args)), key=_name)

    @_translated
    def count(self, lo: str, hi: str | None, *, revision: int) -> int:
        query = sql.count_sql(has_hi=hi is not None)
        found = self._db.execute(query, {"lo": lo, "hi": hi, "rev": revision}).fetchone()
        return int(found[0])

    @_translated
    def after(self, lo: str, hi: str | None, *, revision: int, upto: int, limit: int) -> list[Row]:
        query = sql.after_sql(versions=self._versions, has_hi=hi is not None)
        args = {"lo": lo, "hi": hi, "rev": revision, "upto": upto, "limit": limit}
        return [_row(t) for t in self._db.execute(query, args)]

    @_translated
    def superseded(
        self, lo: str, hi: str | None, *, revision: int, upto: int, limit: int
    ) -> list[Row]:
        query = sql.superseded_sql(versions=self._versions, has_hi=hi is not None)
        args = {"lo": lo, "hi": hi, "rev": revision, "upto": upto, "limit": limit}
        return [_row(t) for t in self._db.execute(query, args)]

    @_translated
    def live_with_lease(self, lease: int) -> list[Row]:
        return [_row(t) for t in self._db.execute(self._with_lease, (lease,))]

    @_translated
    def lease_get(self, lease_id: int) -> Lease | None:
        if not self._versions:
            return None
        found = self._db.execute(sql.LEASE_GET, (lease_id,)).fetchone()
        return None if found is None else Lease(int(found[0]), int(found[1]), float(found[2]))

    @_translated
    def leases_expired(self, now: float) -> list[int]:
        if not self._versions:
            return []
        return [int(t[0]) for t in self._db.execute(sql.LEASES_EXPIRED, (now,))]


class SqliteWriter(_Reads):
    """The writer connection inside a write block: reads include the batch's
    uncommitted rows; every write joins the batch (``GroupCommit.begin``)."""

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        endpoint: str,
        read_only: bool,
        versions: bool,
        batch: GroupCommit,
    ) -> None:
        super().__init__(db, endpoint=endpoint, read_only=read_only, versions=versions)
        self._batch = batch

    @contextmanager
    def _atomic(self) -> Iterator[sqlite3.Connection]:
        """One write, all or nothing, inside the batch's transaction."""
        self._batch.begin()
        self._db.execute("SAVEPOINT kcrypt_write")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK TO kcrypt_write")
            self._db.execute("RELEASE kcrypt_write")
            raise
        self._db.execute("RELEASE kcrypt_write")

    @_translated
    def append(self, drafts: Sequence[Draft]) -> int:
        with self._atomic() as db:
            first = self.current_revision() + 1
            db.executemany(
                sql.INSERT,
                [
                    (
                        d.name,
                        int(d.created),
                        int(d.deleted),
                        d.create_revision,
                        d.prev_revision,
                        d.lease,
                        d.value,
                        d.old_value if d.deleted and not d.created else None,
                    )
                    for d in drafts
                ],
            )
            versions = [(first + i, d.version) for i, d in enumerate(drafts) if not d.created]
            if versions:
                db.executemany(sql.INSERT_VERSION, versions)
        return first

    @_translated
    def compact(self, *, after: int, upto: int, new_compact_revision: int) -> None:
        bounds = {"after": after, "upto": upto}
        with self._atomic() as db:
            if upto > after:
                db.execute(sql.COMPACT_VERSIONS, bounds)
                db.execute(sql.COMPACT, bounds)
                db.execute(sql.COMPACT_OLD_VALUES, bounds)
            db.execute(sql.SET_COMPACT_REV, (new_compact_revision,))

    @_translated
    def lease_put(self, lease: Lease) -> None:
        self._batch.begin()
        self._db.execute(sql.LEASE_PUT, (lease.id, lease.ttl, lease.expires))

    @_translated
    def lease_delete(self, lease_id: int) -> None:
        self._batch.begin()
        self._db.execute(sql.LEASE_DELETE, (lease_id,))


class SqliteLog(_Reads):
    """Reads on ``reader`` (committed rows); write blocks on ``writer``.

    ``versions``: the file has kcrypt's side tables (a k3s file opened
    read-only may not); ``on_close`` releases the writer lock. A read-only
    log passes the same connection twice (its writes fail as read-only).
    """

    def __init__(
        self,
        reader: sqlite3.Connection,
        writer: sqlite3.Connection,
        *,
        endpoint: str,
        read_only: bool,
        versions: bool,
        path: Path,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(reader, endpoint=endpoint, read_only=read_only, versions=versions)
        self._path = path
        self._writer_db = writer
        self._on_close = on_close
        self._batch = GroupCommit(writer, translate=lambda exc: translate(exc, endpoint))
        self._writer = SqliteWriter(
            writer, endpoint=endpoint, read_only=read_only, versions=versions, batch=self._batch
        )

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqliteWriter]:
        async with self._batch.hold():
            yield self._writer

    async def snapshot(self, path: Path) -> tuple[str, int]:
        """:func:`backup` in a worker thread, on connections of its own."""
        try:
            revision = await asyncio.to_thread(backup, self._path, path)
        except sqlite3.Error as exc:
            path.unlink(missing_ok=True)
            raise translate(exc, self.endpoint) from exc
        return IMAGE_KIND, revision

    def close(self) -> None:
        try:
            self._batch.close()
        finally:
            try:
                self._db.close()
                if self._writer_db is not self._db:
                    self._writer_db.close()
            finally:
                self._on_close()
