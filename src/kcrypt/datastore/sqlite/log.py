"""The :class:`~kcrypt.datastore.logstructured.Log` over kine's ``kine`` table.

One ``sqlite3`` connection, used from the event-loop thread (see
``engine.py`` for why that is fine). Every append is one ``BEGIN IMMEDIATE``
transaction, however many rows it holds; revisions are the table's
AUTOINCREMENT ids, so they never go back even when compaction deletes the
newest row. sqlite3 errors become datastore errors in :func:`translate`, the
only place that knows sqlite3's error names.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from kcrypt.datastore.errors import CorruptStore, DatastoreError, Unavailable
from kcrypt.datastore.logstructured import Draft, Lease, Row
from kcrypt.datastore.sqlite import sql

__all__ = ["SqliteLog", "translate"]

P = ParamSpec("P")
T = TypeVar("T")


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
    method: Callable[Concatenate[SqliteLog, P], T],
) -> Callable[Concatenate[SqliteLog, P], T]:
    @functools.wraps(method)
    def wrapper(self: SqliteLog, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise translate(exc, self.endpoint) from exc

    return wrapper


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


class SqliteLog:
    """``versions``: the file has kcrypt's side tables (a k3s file opened
    read-only may not); ``on_close`` releases the writer lock."""

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        endpoint: str,
        read_only: bool,
        versions: bool,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._endpoint = endpoint
        self._read_only = read_only
        self._versions = versions
        self._on_close = on_close
        self._latest = sql.latest_sql(versions=versions)
        self._latest_many = sql.latest_many_sql(versions=versions)
        self._with_lease = sql.live_with_lease_sql(versions=versions)

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def read_only(self) -> bool:
        return self._read_only

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        self, lo: str, hi: str | None, *, after: str | None, limit: int, revision: int
    ) -> list[Row]:
        query = sql.live_sql(
            versions=self._versions,
            has_hi=hi is not None,
            has_after=after is not None,
            limited=limit > 0,
        )
        args = {"lo": lo, "hi": hi, "after": after, "rev": revision, "limit": limit}
        return [_row(t) for t in self._db.execute(query, args)]

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
    def append(self, drafts: Sequence[Draft]) -> int:
        with self._write() as db:
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
                        None if d.created else d.old_value,
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
        with self._write() as db:
            if upto > after:
                db.execute(sql.COMPACT_VERSIONS, bounds)
                db.execute(sql.COMPACT, bounds)
                db.execute(sql.COMPACT_OLD_VALUES, bounds)
            db.execute(sql.SET_COMPACT_REV, (new_compact_revision,))

    @_translated
    def live_with_lease(self, lease: int) -> list[Row]:
        return [_row(t) for t in self._db.execute(self._with_lease, (lease,))]

    @_translated
    def lease_put(self, lease: Lease) -> None:
        self._db.execute(sql.LEASE_PUT, (lease.id, lease.ttl, lease.expires))

    @_translated
    def lease_get(self, lease_id: int) -> Lease | None:
        if not self._versions:
            return None
        found = self._db.execute(sql.LEASE_GET, (lease_id,)).fetchone()
        return None if found is None else Lease(int(found[0]), int(found[1]), float(found[2]))

    @_translated
    def lease_delete(self, lease_id: int) -> None:
        self._db.execute(sql.LEASE_DELETE, (lease_id,))

    @_translated
    def leases_expired(self, now: float) -> list[int]:
        if not self._versions:
            return []
        return [int(t[0]) for t in self._db.execute(sql.LEASES_EXPIRED, (now,))]

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            self._on_close()
