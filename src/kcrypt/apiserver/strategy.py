"""Per-kind defaulting and preparation (kube-apiserver's REST strategies).

Two steps, because managed fields are recorded between them, as upstream:

* :func:`default` is what decoding does (v1 defaulting and conversion), so
  its results are owned by the writer: a Secret's ``stringData`` is merged
  into ``data`` (base64, stringData wins) and dropped, ``type`` defaults to
  Opaque; a Namespace gets the ``kubernetes.io/metadata.name`` label;
* :func:`prepare_create` / :func:`prepare_update` are the strategies' own
  ``PrepareFor*``, which nobody owns: a Namespace is created ``Active`` with
  the ``kubernetes`` finalizer; its main resource keeps the stored ``spec``
  and ``status``, ``/status`` keeps the stored ``spec``, ``/finalize`` keeps
  the stored ``status`` (upstream's reset fields).
"""

from __future__ import annotations

import base64
from typing import Any

__all__ = ["default", "prepare_create", "prepare_update"]

Obj = dict[str, Any]


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def _secret(obj: Obj) -> None:
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode("ascii")
        obj["data"] = data
    if not obj.get("type"):
        obj["type"] = "Opaque"


def _namespace_label(obj: Obj) -> None:
    meta = _meta(obj)
    name = meta.get("name")
    if name:
        labels = meta.get("labels") or {}
        labels["kubernetes.io/metadata.name"] = name
        meta["labels"] = labels


def default(kind: str, obj: Obj) -> Obj:
    if kind == "Secret":
        _secret(obj)
    elif kind == "Namespace":
        _namespace_label(obj)
    return obj


def prepare_create(kind: str, obj: Obj) -> Obj:
    default(kind, obj)
    if kind == "Namespace":
        spec = obj.get("spec") or {}
        finalizers = list(spec.get("finalizers") or [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers
        obj["spec"] = spec
        obj["status"] = {"phase": "Active"}
    return obj


def _keep(new: Obj, old: Obj, field: str) -> None:
    if field in old:
        new[field] = old[field]
    else:
        new.pop(field, None)


def prepare_update(kind: str, new: Obj, old: Obj, *, subresource: str = "") -> Obj:
    default(kind, new)
    if kind == "Namespace":
        if subresource != "status":
            _keep(new, old, "status")
        if subresource != "finalize":
            _keep(new, old, "spec")
    return new
