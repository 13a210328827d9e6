"""The store's value types and the small rules it applies to objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kcrypt.storage.errors import BadRequest, Conflict
from kcrypt.storage.selectors import FieldSelector, LabelSelector

__all__ = ["Obj", "ObjectList", "Preconditions", "WatchEvent"]

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ObjectList:
    """One page: ``continue_token`` is ``""`` on the last page; ``remaining_item_count``
    is set on pages with a token and no selector (kube-apiserver's estimate)."""

    items: tuple[Obj, ...]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int | None = None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    object: Obj


@dataclass(frozen=True, slots=True)
class Preconditions:
    """Delete preconditions (``DeleteOptions.preconditions``)."""

    uid: str | None = None
    resource_version: str | None = None


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta_of(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def written_prefix(value: bytes) -> str:
    parts = value.split(b":", 5)
    if len(parts) < 6:
        return ""
    return b":".join(parts[:5]).decode("ascii", "replace") + ":"


def parse_rv(value: str) -> int:
    try:
        rv = int(value)
    except ValueError:
        raise BadRequest(f'resourceVersion: Invalid value: "{value}": must be an integer') from None
    if rv < 0:
        raise BadRequest(f'resourceVersion: Invalid value: "{value}": must be non-negative')
    return rv


def matches(obj: Obj, labels: LabelSelector, fields: FieldSelector) -> bool:
    if not labels.empty and not labels.matches(meta_of(obj).get("labels")):
        return False
    return fields.empty or fields.matches(obj)


def keep_system_fields(new: Obj, current: Obj) -> None:
    """BeforeUpdate: identity and creation time come from the stored object."""
    meta, old = meta_of(new), current["metadata"]
    meta["name"] = old.get("name")
    if "namespace" in old:
        meta["namespace"] = old["namespace"]
    if not meta.get("uid") and old.get("uid"):
        meta["uid"] = old["uid"]
    if old.get("creationTimestamp"):
        meta["creationTimestamp"] = old["creationTimestamp"]
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):  # the server's alone
        if field in old:
            meta[field] = old[field]
        else:
            meta.pop(field, None)


def check_preconditions(resource: str, name: str, current: Obj, pre: Preconditions | None) -> None:
    if pre is None:
        return
    meta = current["metadata"]
    if pre.uid is not None and pre.uid != meta.get("uid"):
        raise Conflict(
            resource,
            name,
            f"Precondition failed: UID in precondition: {pre.uid}, "
            f"UID in object meta: {meta.get('uid', '')}",
        )
    if pre.resource_version is not None and pre.resource_version != meta.get("resourceVersion"):
        raise Conflict(
            resource,
            name,
            f"Precondition failed: ResourceVersion in precondition: {pre.resource_version}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion', '')}",
        )
