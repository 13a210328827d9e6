"""Per-kind defaulting before validation (kube-apiserver's REST strategies).

* Secret: ``stringData`` is merged into ``data`` (base64, stringData wins) and
  dropped, as the v1 -> internal conversion does; ``type`` defaults to Opaque.
* Namespace: created ``Active`` with the ``kubernetes`` finalizer and the
  ``kubernetes.io/metadata.name`` label; an update keeps the stored spec and
  status (they have their own subresources upstream).
"""

from __future__ import annotations

import base64
from typing import Any

__all__ = ["prepare_create", "prepare_update"]

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


def prepare_create(kind: str, obj: Obj) -> Obj:
    if kind == "Secret":
        _secret(obj)
    elif kind == "Namespace":
        spec = obj.get("spec") or {}
        finalizers = list(spec.get("finalizers") or [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers
        obj["spec"] = spec
        obj["status"] = {"phase": "Active"}
        _namespace_label(obj)
    return obj


def prepare_update(kind: str, new: Obj, old: Obj) -> Obj:
    if kind == "Secret":
        _secret(new)
    elif kind == "Namespace":
        if "spec" in old:
            new["spec"] = old["spec"]
        else:
            new.pop("spec", None)
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
        _namespace_label(new)
    return new
