"""What ``secrets-encrypt status`` shows about snapshots: the last one taken, the last restore."""

from __future__ import annotations

import time
from typing import Any

from kcrypt.datastore import Datastore
from kcrypt.snapshot.records import read_last, read_restored

__all__ = ["snapshot_lines", "snapshot_status", "with_snapshot_lines"]


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


async def snapshot_status(ds: Datastore, *, config_hash: str) -> dict[str, Any]:
    """``{"lastSnapshot": ..., "restored": ...}`` (each only when known).

    The restored record's read-only keys are shown while the config is still
    the one the restore wrote; any later change (a ``reencrypt`` that retired
    them) ends the hint."""
    doc: dict[str, Any] = {}
    last = await read_last(ds)
    if last is not None:
        doc["lastSnapshot"] = {
            "name": last.name,
            "time": _rfc3339(last.time),
            "reason": last.reason,
        }
        if last.error:
            doc["lastSnapshot"]["error"] = last.error
    restored = await read_restored(ds)
    if restored is not None:
        entry: dict[str, Any] = {"snapshot": restored.snapshot, "time": _rfc3339(restored.time)}
        if restored.read_only and restored.config_hash == config_hash:
            entry["readOnlyKeys"] = list(restored.read_only)
        doc["restored"] = entry
    return doc


def snapshot_lines(doc: dict[str, Any]) -> list[str]:
    """Text lines for a status document that carries the fields above."""
    lines: list[str] = []
    last = doc.get("lastSnapshot")
    if isinstance(last, dict):
        if last.get("error"):
            lines.append(
                f"Last Snapshot: failed at {last.get('time')} ({last.get('reason')}): "
                f"{last['error']}"
            )
        else:
            lines.append(
                f"Last Snapshot: {last.get('name')} ({last.get('reason')}, {last.get('time')})"
            )
    restored = doc.get("restored")
    if isinstance(restored, dict):
        lines.append(f"Restored From: {restored.get('snapshot')} ({restored.get('time')})")
        keys = restored.get("readOnlyKeys")
        if keys:
            lines.append(
                f"Read-only keys from the restore: {', '.join(keys)} -- run "
                "'kcrypt secrets-encrypt reencrypt' to rewrite every value under the write "
                "key and retire them"
            )
    return lines


def with_snapshot_lines(text: str, doc: dict[str, Any]) -> str:
    """k3s's status text with the snapshot lines after its header lines, so the key
    table (and the blank line k3s prints after it) stays last, as k3s prints it."""
    lines = snapshot_lines(doc)
    if not lines:
        return text
    head, sep, rest = text.partition("\n\n")
    return head + "\n" + "\n".join(lines) + sep + rest if sep else text + "\n".join(lines) + "\n"
