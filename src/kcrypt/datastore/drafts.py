"""What each change appends to the log, and the watch event a row becomes.

Pure functions of rows: a create, update or delete is decided in
:mod:`kcrypt.datastore.logstructured` under its write block; the row it
appends is built here.
"""

from __future__ import annotations

from kcrypt.datastore.contract import Event, EventType, KeyValue
from kcrypt.datastore.log import Draft, Row

__all__ = ["event_of", "put_draft", "tombstone"]


def event_of(row: Row) -> Event:
    """The event a row is; ``prev`` is the value it replaced or deleted."""
    if row.deleted:
        prev = KeyValue(
            row.name, row.old_value, row.create_revision, row.prev_revision, row.version, row.lease
        )
        return Event(EventType.DELETE, KeyValue(row.name, b"", 0, row.id, 0, 0), prev)
    if row.created:
        return Event(EventType.PUT, row.kv(), None)
    prev = KeyValue(
        row.name,
        row.old_value,
        row.create_revision,
        row.prev_revision,
        row.version - 1,
        row.old_lease,
    )
    return Event(EventType.PUT, row.kv(), prev)


def tombstone(cur: Row) -> Draft:
    """The row that deletes ``cur``; it carries the last value (a watch's ``prev``)."""
    return Draft(
        name=cur.name,
        created=False,
        deleted=True,
        create_revision=cur.create_revision,
        prev_revision=cur.id,
        lease=cur.lease,
        value=cur.value,
        old_value=cur.value,
        version=cur.version,
        old_lease=cur.lease,
    )


def put_draft(name: str, value: bytes, lease: int, cur: Row | None) -> Draft:
    """A create (``cur`` absent or a tombstone) or an update of ``cur``."""
    if cur is None or cur.deleted:
        prev = cur.id if cur is not None else 0
        return Draft(
            name=name,
            created=True,
            deleted=False,
            create_revision=0,
            prev_revision=prev,
            lease=lease,
            value=value,
            old_value=b"",
            version=1,
        )
    return Draft(
        name=name,
        created=False,
        deleted=False,
        create_revision=cur.create_revision,
        prev_revision=cur.id,
        lease=lease,
        value=value,
        old_value=cur.value,
        version=cur.version + 1,
        old_lease=cur.lease,
    )
