"""kine's SQLite schema, verbatim, plus two side tables of kcrypt's own.

The ``kine`` table and its indexes are those of k3s-io/kine
(``pkg/drivers/sqlite/sqlite.go``), so a k3s ``state.db`` opens here and a
kcrypt file opens in k3s. Note kine declares ``name`` as INTEGER: SQLite's
type affinity keeps path-like keys as TEXT, and kcrypt reads names back with
``str()``.

kine derives nothing that kcrypt needs from two columns it lacks, so kcrypt
adds two tables k3s ignores:

* ``kcrypt_version``: the ``version`` of update and delete rows. A created
  row is version 1; without a side row the version is counted from the
  key's surviving rows, which is exact until compaction removes history
  (the side rows make it exact afterwards too).
* ``kcrypt_lease``: granted leases and their deadlines (wall time). The
  ``lease`` column of ``kine`` holds the lease id. (kine itself reads that
  column as a TTL in seconds; kcrypt's ids are large, so k3s would never
  expire them.)
"""

from __future__ import annotations

__all__ = [
    "COMPACT_REV_KEY",
    "KCRYPT_DDL",
    "KINE_COLUMNS",
    "KINE_DDL",
    "SchemaProblem",
    "check_tables",
]

COMPACT_REV_KEY = "compact_rev_key"

KINE_COLUMNS = (
    "id",
    "name",
    "created",
    "deleted",
    "create_revision",
    "prev_revision",
    "lease",
    "value",
    "old_value",
)

KINE_DDL = (
    """CREATE TABLE IF NOT EXISTS kine
            (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name INTEGER,
                created INTEGER,
                deleted INTEGER,
                create_revision INTEGER,
                prev_revision INTEGER,
                lease INTEGER,
                value BLOB,
                old_value BLOB
            )""",
    "CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)",
    "CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)",
    "CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)",
    "CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex"
    " ON kine (name, prev_revision)",
)

KCRYPT_DDL = (
    "CREATE TABLE IF NOT EXISTS kcrypt_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS kcrypt_lease
        (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL, expires REAL NOT NULL)""",
)

_OURS = {"kine", "kcrypt_version", "kcrypt_lease", "key_value"}


class SchemaProblem(Exception):
    """Internal: the file is a database, but not one kcrypt may use."""


def check_tables(tables: dict[str, list[str]]) -> bool:
    """Given ``{table: [columns]}`` of a database, say whether ``kine`` exists.

    Raises :class:`SchemaProblem` when the file holds a ``kine`` table with
    other columns, or tables of some other application (kcrypt never writes
    into a database it does not recognise)."""
    user = {t: cols for t, cols in tables.items() if not t.startswith("sqlite_")}
    if "kine" in user:
        if tuple(user["kine"]) != KINE_COLUMNS:
            raise SchemaProblem(
                f"table kine has columns ({', '.join(user['kine'])}), "
                f"expected ({', '.join(KINE_COLUMNS)})"
            )
        return True
    foreign = sorted(set(user) - _OURS)
    if foreign:
        raise SchemaProblem(f"no kine table; the file holds other tables ({', '.join(foreign)})")
    return False
