"""``metadata.managedFields``: who set which field, recorded on every write.

The entry format, ordering and rules are k8s.io/apimachinery's
``managedfields/internal``:

* an entry is ``{manager, operation, apiVersion, time, fieldsType: FieldsV1,
  fieldsV1, subresource?}``; one ``Apply`` entry per manager and subresource,
  one ``Update`` entry per manager, apiVersion and subresource; entries are
  sorted by operation (Apply first), time, manager, apiVersion, subresource;
* a write that is not an apply (create, PUT, the three patch types) records
  an ``Update``: the fields it added or changed join its manager's set, leave
  every other manager's set, and fields it removed leave every set; the
  entry's ``time`` moves only when the write changed something;
* a client may send managedFields: ``[]`` or ``[{}]`` resets them (then the
  write is recorded), a valid list replaces them, anything else is ignored in
  favour of the stored ones; writes to a subresource always use the stored
  ones;
* an object stored without managedFields stays untracked until its first
  apply, which hands every existing field to ``before-first-apply``;
* more than ten ``Update`` entries: the oldest are merged into
  ``ancient-changes``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from kcrypt.apiserver.fieldpath import FieldSet, from_fields_v1, to_fields_v1
from kcrypt.apiserver.fieldwalk import compare, created_fields, field_set, strip

__all__ = [
    "APPLY",
    "UPDATE",
    "Manager",
    "decode",
    "encode",
    "ignored_fields",
    "is_reset",
    "record_update",
    "tracked_fields",
]

APPLY = "Apply"
UPDATE = "Update"
_MAX_UPDATE_MANAGERS = 10
_ANCIENT = "ancient-changes"

Obj = dict[str, Any]
Clock = Callable[[], str]


@dataclass(frozen=True, slots=True)
class Manager:
    """One managedFields entry, its field set decoded."""

    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """Upstream's identity: an Apply manager is one entry whatever its apiVersion."""
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, version, self.subresource)


def ignored_fields(resource: str, subresource: str) -> tuple[str, ...]:
    """Reset fields: what a write to this (sub)resource neither changes nor owns."""
    if resource != "namespaces":
        return ()
    return ("spec",) if subresource == "status" else ("status",)


def tracked_fields(obj: Obj, *, resource: str, subresource: str = "") -> FieldSet:
    return strip(field_set(obj), ignored=ignored_fields(resource, subresource))


def is_reset(entries: Any) -> bool:
    """``[]`` or ``[{}]``: the client asks to start the record afresh."""
    return isinstance(entries, list) and (entries == [] or entries == [{}])


def decode(entries: Any) -> list[Manager] | None:
    """The managers ``entries`` describe; None when any entry is not valid."""
    if not isinstance(entries, list):
        return None
    out = []
    for e in entries:
        if not isinstance(e, dict) or e.get("operation") not in (APPLY, UPDATE):
            return None
        if not e.get("apiVersion") or e.get("fieldsType") != "FieldsV1":
            return None
        try:
            fields = from_fields_v1(e.get("fieldsV1") or {})
        except ValueError:
            return None
        out.append(
            Manager(
                manager=str(e.get("manager") or "unknown"),
                operation=e["operation"],
                api_version=e["apiVersion"],
                fields=fields,
                time=e.get("time"),
                subresource=str(e.get("subresource") or ""),
            )
        )
    return out


def _sort_key(m: Manager) -> tuple[str, str, str, str, str]:
    return (m.operation, m.time or "", m.manager, m.api_version, m.subresource)


def _entry(m: Manager, fields_v1: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"manager": m.manager, "operation": m.operation}
    entry["apiVersion"] = m.api_version
    if m.time:
        entry["time"] = m.time
    entry["fieldsType"] = "FieldsV1"
    entry["fieldsV1"] = fields_v1
    if m.subresource:
        entry["subresource"] = m.subresource
    return entry


def encode(managers: Iterable[Manager]) -> list[dict[str, Any]]:
    return [_entry(m, to_fields_v1(m.fields)) for m in sorted(managers, key=_sort_key)]


def _cap(managers: list[Manager]) -> list[Manager]:
    updates = sorted(
        (m for m in managers if m.operation == UPDATE), key=lambda m: (m.time or "", m.manager)
    )
    excess = len(updates) - _MAX_UPDATE_MANAGERS
    if excess <= 0:
        return managers
    merged = {m.identity for m in updates[:excess]}
    kept = [m for m in managers if m.identity not in merged]
    for old in updates[:excess]:
        bucket = next(
            (
                m
                for m in kept
                if (m.manager, m.operation, m.api_version) == (_ANCIENT, UPDATE, old.api_version)
            ),
            None,
        )
        if bucket is None:
            kept.append(replace(old, manager=_ANCIENT, subresource=""))
        else:
            kept.remove(bucket)
            kept.append(replace(bucket, fields=bucket.fields | old.fields, time=old.time))
    return kept


def _base(live: Obj | None, new: Obj, *, subresource: str) -> list[Manager] | None:
    """The managers this write starts from; None: the object stays untracked."""
    live_entries = ((live or {}).get("metadata") or {}).get("managedFields")
    sent = (new.get("metadata") or {}).get("managedFields")
    if subresource:
        return decode(live_entries) or []
    if is_reset(sent):
        return []
    given = decode(sent) if sent else None
    if given:
        return given
    if live is not None and not live_entries:
        return None  # stored untracked (before this server recorded fields): keep it so
    return decode(live_entries) or []


def record_update(
    live: Obj | None,
    new: Obj,
    *,
    manager: str,
    resource: str,
    now: Clock,
    subresource: str = "",
    api_version: str = "v1",
) -> None:
    """Set ``new``'s managedFields for a non-apply write from ``live`` (None: create)."""
    meta = new.setdefault("metadata", {})
    base = _base(live, new, subresource=subresource)
    if base is None:
        meta.pop("managedFields", None)
        return
    ignored = ignored_fields(resource, subresource)
    if live is None and not base:  # a plain create: one entry, everything the object sets
        tree = created_fields(new, ignored=ignored)
        if tree is not None:
            me = Manager(manager, UPDATE, api_version, frozenset(), time=now())
            if tree:
                meta["managedFields"] = [_entry(me, tree)]
            else:
                meta.pop("managedFields", None)
            return
    added, modified, removed = compare(live or {}, new)
    changed = strip(added | modified, ignored=ignored)
    removed = strip(removed, ignored=ignored)
    me = Manager(manager, UPDATE, api_version, frozenset(), subresource=subresource)
    out: list[Manager] = []
    mine: Manager | None = None
    for m in base:
        if m.identity == me.identity:
            mine = m
            continue
        kept = m.fields - changed - removed
        if kept:
            out.append(replace(m, fields=kept))
    fields = ((mine.fields if mine else frozenset()) - removed) | changed
    time = now() if changed else (mine.time if mine else None)
    if fields:
        out.append(replace(me, fields=fields, time=time))
    meta["managedFields"] = encode(_cap(out))
    if not meta["managedFields"]:
        meta.pop("managedFields")


def drop_sent(obj: Obj) -> None:
    """Forget managedFields the client put in ``obj`` (subresources ignore them)."""
    with contextlib.suppress(AttributeError, KeyError):
        obj["metadata"].pop("managedFields")
