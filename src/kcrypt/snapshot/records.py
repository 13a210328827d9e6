"""The snapshot records kcrypt keeps in the datastore (under ``/kcrypt/``, never ``/registry/``).

=============================  ==========================================================
``/kcrypt/restore``            a restore is under way; a server refuses to start while it
                               exists (the restore was interrupted: run it again)
``/kcrypt/snapshot/restored``  the last restore: snapshot, time, keys added read-only
                               (``status`` says a ``reencrypt`` retires them)
``/kcrypt/snapshot/last``      the last automatic snapshot: name, time, reason, or the
                               error of the last attempt (``status`` and logs name it)
=============================  ==========================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kcrypt.datastore import Datastore, PutIf

__all__ = [
    "LAST_KEY",
    "RESTORED_KEY",
    "RESTORE_KEY",
    "LastSnapshot",
    "RestoreRecord",
    "read_json",
    "read_last",
    "read_restored",
    "restore_pending",
    "write_last",
    "write_restored",
]

RESTORE_KEY = "/kcrypt/restore"
RESTORED_KEY = "/kcrypt/snapshot/restored"
LAST_KEY = "/kcrypt/snapshot/last"


@dataclass(frozen=True, slots=True)
class RestoreRecord:
    snapshot: str
    time: float
    read_only: tuple[str, ...]
    config_hash: str


@dataclass(frozen=True, slots=True)
class LastSnapshot:
    name: str
    time: float
    reason: str
    error: str = ""


async def _put(ds: Datastore, key: str, doc: dict[str, Any]) -> None:
    body = json.dumps(doc, separators=(",", ":")).encode()
    for _ in range(5):
        kv = await ds.get(key)
        result = await ds.txn_put([PutIf(key, body, kv.mod_revision if kv else 0)])
        if result.succeeded[0]:
            return


async def read_json(ds: Datastore, key: str) -> dict[str, Any] | None:
    kv = await ds.get(key)
    if kv is None:
        return None
    try:
        doc = json.loads(kv.value)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


async def write_restored(ds: Datastore, record: RestoreRecord) -> None:
    await _put(
        ds,
        RESTORED_KEY,
        {
            "snapshot": record.snapshot,
            "time": record.time,
            "readOnlyKeys": list(record.read_only),
            "configHash": record.config_hash,
        },
    )


async def read_restored(ds: Datastore) -> RestoreRecord | None:
    doc = await read_json(ds, RESTORED_KEY)
    if doc is None:
        return None
    return RestoreRecord(
        snapshot=str(doc.get("snapshot", "")),
        time=float(doc.get("time", 0.0)),
        read_only=tuple(str(n) for n in doc.get("readOnlyKeys") or ()),
        config_hash=str(doc.get("configHash", "")),
    )


async def write_last(ds: Datastore, last: LastSnapshot) -> None:
    await _put(
        ds,
        LAST_KEY,
        {"name": last.name, "time": last.time, "reason": last.reason, "error": last.error},
    )


async def read_last(ds: Datastore) -> LastSnapshot | None:
    doc = await read_json(ds, LAST_KEY)
    if doc is None:
        return None
    return LastSnapshot(
        name=str(doc.get("name", "")),
        time=float(doc.get("time", 0.0)),
        reason=str(doc.get("reason", "")),
        error=str(doc.get("error", "")),
    )


async def restore_pending(ds: Datastore) -> str | None:
    """The snapshot an interrupted restore was restoring, or None."""
    doc = await read_json(ds, RESTORE_KEY)
    return None if doc is None else str(doc.get("snapshot", "?"))
