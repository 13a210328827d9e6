"""Every SQL statement kcrypt runs, as text (kine's habit: a driver is data).

Rows are selected with the same column list everywhere (see ``row_select``)
so ``log.py`` turns any of them into a ``Row`` with one function. Reads of a
key at a revision take its newest row with ``id <= revision``; that is
kine's model, and the ``(name, id)`` index answers it without a scan.
"""

from __future__ import annotations

from kcrypt.datastore.sqlite.schema import COMPACT_REV_KEY

__all__ = [
    "COMPACT",
    "COMPACT_OLD_VALUES",
    "COMPACT_REV",
    "COMPACT_VERSIONS",
    "CURRENT_REV",
    "INIT_COMPACT_ROW",
    "INSERT",
    "INSERT_VERSION",
    "LEASES_EXPIRED",
    "LEASE_DELETE",
    "LEASE_GET",
    "LEASE_PUT",
    "MAX_REVISION",
    "OLD_VALUE",
    "SET_COMPACT_REV",
    "after_sql",
    "count_sql",
    "current_sql",
    "latest_many_sql",
    "latest_sql",
    "live_sql",
    "live_with_lease_sql",
    "superseded_sql",
]

MAX_REVISION = 2**62

CURRENT_REV = """
    SELECT MAX(
        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'kine'), 0),
        COALESCE((SELECT MAX(id) FROM kine), 0))"""

COMPACT_REV = f"SELECT MAX(prev_revision) FROM kine WHERE name = '{COMPACT_REV_KEY}'"

SET_COMPACT_REV = f"UPDATE kine SET prev_revision = ? WHERE name = '{COMPACT_REV_KEY}'"

INSERT = """INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease,
    value, old_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""

INIT_COMPACT_ROW = f"""INSERT INTO kine(name, created, deleted, create_revision, prev_revision,
    lease, value, old_value) VALUES ('{COMPACT_REV_KEY}', 1, 0, 0, 0, 0, x'', NULL)"""

INSERT_VERSION = "INSERT OR REPLACE INTO kcrypt_version(id, version) VALUES (?, ?)"

# An update row kcrypt appends stores no old_value: the value it replaced is the
# value of its previous row (``prev_revision``), which stays until a compaction
# removes both at once. Rows kine wrote (a k3s file) carry old_value and keep it.
# Writing each replaced ciphertext a second time made a re-encryption pass write
# twice the bytes, and its compaction rewrite every row to drop the copy.
OLD_VALUE = """CASE WHEN kv.created = 0 AND kv.deleted = 0
        THEN COALESCE(kv.old_value, p.value) ELSE kv.old_value END"""

# kine's CompactSQL with a lower bound, so that each compaction only visits
# the rows appended since the previous one.
_DOOMED = f"""
    SELECT kp.prev_revision FROM kine AS kp
    WHERE kp.name != '{COMPACT_REV_KEY}' AND kp.prev_revision != 0
        AND kp.id > :after AND kp.id <= :upto
    UNION
    SELECT kd.id FROM kine AS kd
    WHERE kd.deleted != 0 AND kd.id > :after AND kd.id <= :upto"""

COMPACT_VERSIONS = f"DELETE FROM kcrypt_version WHERE id IN ({_DOOMED})"
COMPACT = f"DELETE FROM kine WHERE id IN ({_DOOMED})"
# Beyond kine: a surviving row's old_value is the value it replaced, which after
# a key rotation is the old ciphertext. Once the row it came from is compacted
# no event can carry it any more, so it is dropped with the history.
COMPACT_OLD_VALUES = """UPDATE kine SET old_value = NULL
    WHERE id > :after AND id <= :upto AND old_value IS NOT NULL"""

LEASE_PUT = "INSERT OR REPLACE INTO kcrypt_lease(id, ttl, expires) VALUES (?, ?, ?)"
LEASE_GET = "SELECT id, ttl, expires FROM kcrypt_lease WHERE id = ?"
LEASE_DELETE = "DELETE FROM kcrypt_lease WHERE id = ?"
LEASES_EXPIRED = "SELECT id FROM kcrypt_lease WHERE expires <= ?"

_COUNT_VERSION = """(SELECT COUNT(*) FROM kine AS c
    WHERE c.name = kv.name AND c.id >= kv.create_revision AND c.id <= kv.id AND c.deleted = 0)"""


def _version(versions: bool) -> str:
    """A row's version: kcrypt's own column where the file has it, else counted."""
    counted = f"CASE WHEN kv.created != 0 THEN 1 ELSE {_COUNT_VERSION} END"
    return f"COALESCE(v.version, {counted})" if versions else counted


def row_select(
    *, versions: bool, prev_lease: bool = False, old_values: bool = True, values: bool = True
) -> str:
    """``SELECT <row columns> FROM kine AS kv ...`` (``versions``: the file has
    kcrypt_version; ``prev_lease``: join the replaced row for its lease;
    ``old_values=False``: NULL instead of the replaced value, for reads that
    only build KeyValues and need not copy a second ciphertext per row;
    ``values=False``: an empty value too, for keys-only listings)."""
    version = _version(versions)
    old_lease = "COALESCE(p.lease, kv.lease)" if prev_lease else "kv.lease"
    joins = "LEFT JOIN kcrypt_version AS v ON v.id = kv.id" if versions else ""
    if prev_lease or old_values:
        joins += " LEFT JOIN kine AS p ON p.id = kv.prev_revision"
    return f"""SELECT kv.id, kv.name, kv.created, kv.deleted, kv.create_revision,
        kv.prev_revision, kv.lease, {"kv.value" if values else "X''"},
        {OLD_VALUE if old_values else "NULL"},
        {version}, {old_lease}
        FROM kine AS kv {joins}"""


def latest_sql(*, versions: bool) -> str:
    return f"""{row_select(versions=versions)}
        WHERE kv.name = ? AND kv.id <= ? ORDER BY kv.id DESC LIMIT 1"""


def current_sql(*, versions: bool) -> str:
    """The newest row of one name, only the columns a KeyValue needs (no old value)."""
    counted = f"CASE WHEN kv.created != 0 THEN 1 ELSE {_COUNT_VERSION} END"
    version = f"COALESCE(v.version, {counted})" if versions else counted
    joins = "LEFT JOIN kcrypt_version AS v ON v.id = kv.id" if versions else ""
    return f"""SELECT kv.id, kv.created, kv.deleted, kv.create_revision, kv.lease, kv.value,
        {version} FROM kine AS kv {joins}
        WHERE kv.name = ? ORDER BY kv.id DESC LIMIT 1"""


def latest_many_sql(*, versions: bool) -> str:
    """Newest row of each name in the JSON array bound to the one parameter,
    without its old value (a compared put needs the current value only)."""
    return f"""{row_select(versions=versions, old_values=False)}
        WHERE kv.id IN (SELECT MAX(m.id) FROM kine AS m
            WHERE m.name IN (SELECT value FROM json_each(?)) GROUP BY m.name)"""


def _newest_ids(*, has_hi: bool, has_after: bool, limited: bool) -> str:
    """The newest id <= ``:rev`` of each name in the range, in name order, tombstones
    included. It reads the ``(name)`` index only (the rowid is in it), so a name's
    older rows cost an index entry, not a table row; ``LIMIT`` bounds the names.
    One lower bound only (``has_after``: the caller passes an ``:after`` >= ``:lo``):
    given two, SQLite seeks with one and filters with the other, and a page after
    ``:after`` would scan every index entry from ``:lo`` -- a pass over N keys
    in pages would cost O(N^2)."""
    lower = "m.name > :after" if has_after else "m.name >= :lo"
    return f"""SELECT MAX(m.id) FROM kine AS m
        WHERE {lower} {"AND m.name < :hi" if has_hi else ""}
            AND m.name != '{COMPACT_REV_KEY}' AND m.id <= :rev
        GROUP BY m.name ORDER BY m.name {"LIMIT :limit" if limited else ""}"""


def live_sql(
    *, versions: bool, has_hi: bool, has_after: bool, limited: bool, values: bool = True
) -> str:
    """The newest row at ``:rev`` of the first ``:limit`` names after ``:after``,
    tombstones included, in name order, as the KeyValue's fields and ``deleted``:
    the caller drops tombstones and asks again after the last name when they
    left the page short. Only those rows are read from the table."""
    ids = _newest_ids(has_hi=has_hi, has_after=has_after, limited=limited)
    joins = "LEFT JOIN kcrypt_version AS v ON v.id = kv.id" if versions else ""
    return f"""SELECT kv.name, {"IFNULL(kv.value, X'')" if values else "X''"},
        CASE WHEN kv.created != 0 THEN kv.id ELSE IFNULL(kv.create_revision, 0) END,
        kv.id, {_version(versions)}, IFNULL(kv.lease, 0), kv.deleted
        FROM kine AS kv {joins} WHERE kv.id IN ({ids}) ORDER BY kv.name"""


def written_since_sql(*, versions: bool, has_hi: bool) -> str:
    """Current live rows in the range whose id is above ``:since`` and in none of the
    inclusive ranges of the JSON array ``:ranges``. The candidates come from the
    name index alone and are filtered in SQLite (the ranges parsed once), so a
    re-encryption pass's own rewrites are never read as rows, let alone turned
    into Python objects."""
    ids = _newest_ids(has_hi=has_hi, has_after=False, limited=False)
    select = row_select(versions=versions, old_values=False)
    return f"""WITH r(a, b) AS MATERIALIZED (
            SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
            FROM json_each(:ranges)),
        c(id) AS ({ids})
        {select} WHERE kv.id IN (
            SELECT c.id FROM c WHERE c.id > :since
                AND NOT EXISTS (SELECT 1 FROM r WHERE c.id BETWEEN r.a AND r.b))
        AND kv.deleted = 0"""


def count_sql(*, has_hi: bool) -> str:
    ids = _newest_ids(has_hi=has_hi, has_after=False, limited=False)
    return f"SELECT COUNT(*) FROM kine AS kv WHERE kv.id IN ({ids}) AND kv.deleted = 0"


def after_sql(*, versions: bool, has_hi: bool) -> str:
    """Rows in ``(:rev, :upto]`` under the prefix, in revision order. kine's
    gap "fill" rows (a tombstone with no previous row) are not events."""
    return f"""{row_select(versions=versions, prev_lease=True)}
        WHERE kv.id > :rev AND kv.id <= :upto
            AND kv.name >= :lo {"AND kv.name < :hi" if has_hi else ""}
            AND kv.name != '{COMPACT_REV_KEY}'
            AND (kv.deleted = 0 OR kv.prev_revision != 0)
        ORDER BY kv.id LIMIT :limit"""


def superseded_sql(*, versions: bool, has_hi: bool) -> str:
    """Live-value rows in ``(:rev, :upto]`` under the prefix that a later row up to
    ``:upto`` replaced or deleted -- history proper, current values left out --
    in revision order, without old values. Driven by the ``prev_revision`` index
    (each replacing row names the row it replaced), so a store that kept little
    history costs little: walking the table by id read every value in it. The
    compact-revision row's ``prev_revision`` is a revision, not a replaced row."""
    select = row_select(versions=versions, old_values=False)
    return f"""{select} JOIN kine AS s ON s.prev_revision = kv.id
        WHERE s.prev_revision > :rev AND s.prev_revision <= :upto AND s.id <= :upto
            AND s.name != '{COMPACT_REV_KEY}'
            AND kv.name >= :lo {"AND kv.name < :hi" if has_hi else ""}
            AND kv.name != '{COMPACT_REV_KEY}' AND kv.deleted = 0
        ORDER BY s.prev_revision LIMIT :limit"""


def live_with_lease_sql(*, versions: bool) -> str:
    return f"""{row_select(versions=versions)}
        WHERE kv.lease = ? AND kv.deleted = 0
            AND kv.id = (SELECT MAX(m.id) FROM kine AS m WHERE m.name = kv.name)"""
