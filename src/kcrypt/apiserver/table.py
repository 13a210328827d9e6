"""Server-side printing: ``meta.k8s.io/v1`` Table for ``kubectl get``.

Columns are kube-apiserver's printers (pkg/printers/internalversion):
Secret NAME TYPE DATA AGE, ConfigMap NAME DATA AGE, Namespace NAME STATUS AGE,
Event LAST SEEN TYPE REASON OBJECT MESSAGE (and five wide-only columns),
Service NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE (+ SELECTOR). As on the
server side upstream, every row carries every column; kubectl hides the
``priority: 1`` ones unless asked for ``-o wide``.
Rows carry the object as PartialObjectMetadata (``includeObject=Metadata``,
the default), the full object (``Object``) or nothing (``None``). AGE is
apimachinery's ``HumanDuration`` of now minus creationTimestamp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from kcrypt.apiserver.errors import ApiError

__all__ = ["human_duration", "partial_metadata", "to_table"]

Obj = dict[str, Any]

_NAME = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "priority": 0,
}
_AGE = {
    "name": "Age",
    "type": "string",
    "format": "",
    "description": "CreationTimestamp is a timestamp representing the server time when this "
    "object was created.",
    "priority": 0,
}


def _column(name: str, type_: str, description: str, *, priority: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "format": "",
        "description": description,
        "priority": priority,
    }


def _wide(name: str, description: str) -> dict[str, Any]:
    return _column(name, "string", description, priority=1)


_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "Secret": [
        _NAME,
        _column("Type", "string", "Used to facilitate programmatic handling of secret data."),
        _column("Data", "string", "Data contains the secret data."),
        _AGE,
    ],
    "ConfigMap": [
        _NAME,
        _column("Data", "string", "Data contains the configuration data."),
        _AGE,
    ],
    "Namespace": [
        _NAME,
        _column("Status", "string", "The status of the namespace"),
        _AGE,
    ],
    "Event": [
        _column(
            "Last Seen", "string", "The time at which the most recent occurrence was recorded."
        ),
        _column("Type", "string", "Type of this event (Normal, Warning)."),
        _column("Reason", "string", "A short, machine-readable reason for the event."),
        _column("Object", "string", "The object this event is about."),
        _wide("Subobject", "The part of the object this event is about, if any."),
        _wide("Source", "The component (and host) that reported this event."),
        _column("Message", "string", "A human-readable description of the event."),
        _wide("First Seen", "The time at which the event was first recorded."),
        _wide("Count", "The number of times this event has occurred."),
        {**_NAME, "priority": 1},
    ],
    "Service": [
        _NAME,
        _column("Type", "string", "How the service is exposed."),
        _column("Cluster-IP", "string", "The IP address of the service."),
        _column("External-IP", "string", "External addresses of the service."),
        _column("Port(s)", "string", "The ports the service exposes."),
        _AGE,
        _wide("Selector", "Pods with labels matching this selector back the service."),
    ],
}


def human_duration(seconds: float) -> str:
    """apimachinery ``duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rem = s % 60
        return f"{minutes}m" if rem == 0 else f"{minutes}m{rem}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rem = minutes % 60
        return f"{hours}h" if rem == 0 else f"{hours}h{rem}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rem = hours % 24
        return f"{hours // 24}d" if rem == 0 else f"{hours // 24}d{rem}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _since(stamp: Any, now: datetime) -> str:
    """``translateTimestampSince``: the age of an RFC3339 time, ``<unknown>`` if unset."""
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((now - then).total_seconds())


def _age(obj: Obj, now: datetime) -> str:
    return _since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _event_cells(obj: Obj, now: datetime) -> list[Any]:
    """printEvent with Wide: first/last seen fall back on eventTime and the series."""
    first = _since(obj.get("firstTimestamp") or obj.get("eventTime"), now)
    last = _since(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 1
    series = obj.get("series")
    if isinstance(series, dict):
        last, count = _since(series.get("lastObservedTime"), now), series.get("count") or 0
    ref = obj.get("involvedObject") or {}
    target = str(ref.get("kind") or "").lower()
    if ref.get("name"):
        target = f"{target}/{ref['name']}"
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    shown_source = f"{component}, {host}" if host else component
    message = str(obj.get("message") or "").strip()
    name = (obj.get("metadata") or {}).get("name", "")
    return [
        last,
        obj.get("type") or "",
        obj.get("reason") or "",
        target,
        ref.get("fieldPath") or "",
        shown_source,
        message,
        first,
        count,
        name,
    ]


def _cells(kind: str, obj: Obj, now: datetime) -> list[Any]:
    name = (obj.get("metadata") or {}).get("name", "")
    if kind == "Secret":
        return [name, obj.get("type") or "", len(obj.get("data") or {}), _age(obj, now)]
    if kind == "ConfigMap":
        count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
        return [name, count, _age(obj, now)]
    if kind == "Event":
        return _event_cells(obj, now)
    phase = (obj.get("status") or {}).get("phase") or ""
    return [name, phase, _age(obj, now)]


def partial_metadata(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def _row_object(include: str) -> Callable[[Obj], Obj | None]:
    if include in ("", "Metadata"):
        return partial_metadata
    if include == "Object":
        return lambda obj: obj
    if include == "None":
        return lambda obj: None
    raise ApiError.bad_request(
        f'includeObject: Unsupported value: "{include}": supported values: "None", "Metadata", '
        '"Object"'
    )


def to_table(
    kind: str,
    objects: Iterable[Obj],
    *,
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
    include_object: str = "",
    now: datetime | None = None,
) -> Obj:
    now = now or datetime.now(UTC)
    row_object = _row_object(include_object)
    rows = []
    for obj in objects:
        row: Obj = {"cells": _cells(kind, obj, now)}
        embedded = row_object(obj)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    meta: Obj = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": _COLUMNS[kind],
        "rows": rows,
    }
