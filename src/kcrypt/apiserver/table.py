"""Server-side printing: ``meta.k8s.io/v1`` Table for ``kubectl get``.

Columns are kube-apiserver's printers (pkg/printers/internalversion):
Secret NAME TYPE DATA AGE, ConfigMap NAME DATA AGE, Namespace NAME STATUS AGE.
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


def _column(name: str, type_: str, description: str) -> dict[str, Any]:
    return {"name": name, "type": type_, "format": "", "description": description, "priority": 0}


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


def _age(obj: Obj, now: datetime) -> str:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    try:
        created = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


def _cells(kind: str, obj: Obj, now: datetime) -> list[Any]:
    name = (obj.get("metadata") or {}).get("name", "")
    if kind == "Secret":
        return [name, obj.get("type") or "", len(obj.get("data") or {}), _age(obj, now)]
    if kind == "ConfigMap":
        count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
        return [name, count, _age(obj, now)]
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
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": _COLUMNS[kind],
        "rows": rows,
    }
