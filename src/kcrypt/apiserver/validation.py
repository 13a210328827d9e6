"""kube-apiserver's validation for the served kinds, same messages.

Ported rule by rule from k8s.io/apimachinery ``pkg/api/validation`` (object
metadata, finalizers) and kubernetes ``pkg/apis/core/validation``
(ValidateSecret[Update], ValidateConfigMap[Update], ValidateNamespace[Update],
ValidateNamespaceStatusUpdate, ValidateEventCreate for core/v1). Messages are
the upstream strings, because scripts and people grep for them. Keys are
checked in sorted order (Go's map order is random, so upstream has no order
to match).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from kcrypt.apiserver.fielderrors import (
    forbidden,
    go_value,
    invalid,
    required,
    too_long,
)
from kcrypt.apiserver.names import (
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
)
from kcrypt.storage import Cause, Invalid

__all__ = ["MAX_SECRET_SIZE", "validate", "validate_update"]

MAX_SECRET_SIZE = 1 * 1024 * 1024
_TOTAL_ANNOTATION_SIZE = 256 * 1024
_IMMUTABLE_SET = "field is immutable when `immutable` is set"
_IMMUTABLE = "field is immutable"

# -- object meta ----------------------------------------------------------------

NameFn = Callable[[str], list[str]]


def _mask_trailing_dash(name: str) -> str:
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def _object_meta(meta: Mapping[str, Any], *, namespaced: bool, name_fn: NameFn) -> list[Cause]:
    errs: list[Cause] = []
    generate = meta.get("generateName") or ""
    if generate:
        errs += [
            invalid("metadata.generateName", generate, m)
            for m in name_fn(_mask_trailing_dash(generate))
        ]
    name = meta.get("name") or ""
    if not name:
        if not generate:
            errs.append(required("metadata.name", "name or generateName is required"))
    else:
        errs += [invalid("metadata.name", name, m) for m in name_fn(name)]
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required("metadata.namespace"))
        else:
            errs += [
                invalid("metadata.namespace", namespace, m) for m in is_dns1123_label(namespace)
            ]
    elif namespace:
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    labels = meta.get("labels") or {}
    for k in sorted(labels):
        errs += [invalid("metadata.labels", k, m) for m in is_qualified_name(k)]
        errs += [invalid("metadata.labels", labels[k], m) for m in is_label_value(str(labels[k]))]
    annotations = meta.get("annotations") or {}
    total = 0
    for k in sorted(annotations):
        errs += [invalid("metadata.annotations", k, m) for m in is_qualified_name(k.lower())]
        total += len(k.encode()) + len(str(annotations[k]).encode())
    if total > _TOTAL_ANNOTATION_SIZE:
        errs.append(too_long("metadata.annotations", _TOTAL_ANNOTATION_SIZE))
    for i, finalizer in enumerate(meta.get("finalizers") or []):
        errs += _finalizer(str(finalizer), f"metadata.finalizers[{i}]")
    return errs


_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def _finalizer(name: str, field: str) -> list[Cause]:
    """apimachinery's ValidateFinalizerName plus core's validateKubeFinalizerName."""
    errs = [invalid(field, name, m) for m in is_qualified_name(name)]
    if "/" not in name and name not in _STANDARD_FINALIZERS:
        errs.append(
            invalid(
                field, name, "name is neither a standard finalizer name nor is it fully qualified"
            )
        )
    return errs


def _object_meta_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    errs = []
    for field in ("name", "namespace", "uid"):
        if field == "uid" and not new.get("uid"):
            continue
        if (new.get(field) or "") != (old.get(field) or ""):
            errs.append(invalid(f"metadata.{field}", new.get(field) or "", _IMMUTABLE))
    return errs


# -- kinds ------------------------------------------------------------------------


def _decoded_size(value: Any) -> int:
    if not isinstance(value, str):
        return 0
    try:
        return len(base64.b64decode(value, validate=False))
    except (binascii.Error, ValueError):
        return len(value)


def _secret(obj: Mapping[str, Any]) -> list[Cause]:
    errs = _object_meta(obj.get("metadata") or {}, namespaced=True, name_fn=is_dns1123_subdomain)
    data: Mapping[str, Any] = obj.get("data") or {}
    total = 0
    for key in sorted(data):
        errs += [invalid(f"data[{key}]", key, m) for m in is_config_map_key(key)]
        total += _decoded_size(data[key])
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    secret_type = obj.get("type") or ""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if secret_type == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif secret_type in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if secret_type.endswith("dockercfg") else ".dockerconfigjson"
        if key not in data:
            errs.append(required(f"data[{key}]"))
        else:
            try:
                parsed = json.loads(base64.b64decode(data[key]))
                if not isinstance(parsed, dict):
                    raise ValueError("not an object")
            except (ValueError, binascii.Error):
                errs.append(invalid(f"data[{key}]", "<secret contents redacted>", "invalid JSON"))
    elif secret_type == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.append(required("data[username]"))
            errs.append(required("data[password]"))
    elif secret_type == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.append(required("data[ssh-privatekey]"))
    elif secret_type == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                errs.append(required(f"data[{key}]"))
    return errs


def _config_map(obj: Mapping[str, Any]) -> list[Cause]:
    errs = _object_meta(obj.get("metadata") or {}, namespaced=True, name_fn=is_dns1123_subdomain)
    data: Mapping[str, Any] = obj.get("data") or {}
    binary: Mapping[str, Any] = obj.get("binaryData") or {}
    total = 0
    for key in sorted(data):
        errs += [invalid(f"data[{key}]", key, m) for m in is_config_map_key(key)]
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += len(str(data[key]).encode())
    for key in sorted(binary):
        errs += [invalid(f"binaryData[{key}]", key, m) for m in is_config_map_key(key)]
        total += _decoded_size(binary[key])
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("", MAX_SECRET_SIZE))
    return errs


def _namespace(obj: Mapping[str, Any]) -> list[Cause]:
    errs = _object_meta(obj.get("metadata") or {}, namespaced=False, name_fn=is_dns1123_label)
    for i, finalizer in enumerate((obj.get("spec") or {}).get("finalizers") or []):
        errs += _finalizer(str(finalizer), f"spec.finalizers[{i}]")
    return errs


def _event(obj: Mapping[str, Any]) -> list[Cause]:
    """core/v1 events get upstream's legacy rules (ValidateEventCreate for v1)."""
    meta = obj.get("metadata") or {}
    errs = _object_meta(meta, namespaced=True, name_fn=is_dns1123_subdomain)
    involved = obj.get("involvedObject") or {}
    namespace = meta.get("namespace") or ""
    if not obj.get("eventTime"):
        theirs = involved.get("namespace") or ""
        if (theirs and theirs != namespace) or (not theirs and namespace not in ("", "default")):
            errs.append(
                invalid("involvedObject.namespace", theirs, "does not match event.namespace")
            )
    return errs


_RULES: dict[str, Callable[[Mapping[str, Any]], list[Cause]]] = {
    "Secret": _secret,
    "ConfigMap": _config_map,
    "Namespace": _namespace,
    "Event": _event,
}


def _raise(kind: str, obj: Mapping[str, Any], errs: list[Cause]) -> None:
    if errs:
        meta = obj.get("metadata") or {}
        raise Invalid(kind, str(meta.get("name") or meta.get("generateName") or ""), errs)


def validate(kind: str, obj: Mapping[str, Any]) -> None:
    """Create-time validation; raises :class:`kcrypt.storage.Invalid`."""
    _raise(kind, obj, _RULES[kind](obj))


def _namespace_status(new: Mapping[str, Any]) -> list[Cause]:
    phase = (new.get("status") or {}).get("phase") or ""
    if not (new.get("metadata") or {}).get("deletionTimestamp"):
        if phase != "Active":
            return [
                invalid(
                    "status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty"
                )
            ]
    elif phase != "Terminating":
        return [
            invalid(
                "status.Phase",
                phase,
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            )
        ]
    return []


def _no_new_finalizers(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    if not old_meta.get("deletionTimestamp"):
        return []
    extra = sorted(set(new_meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
    if not extra:
        return []
    shown = "[]string{" + ", ".join(go_value(str(f)) for f in extra) + "}"
    detail = (
        "no new finalizers can be added if the object is being deleted, "
        f"found new finalizers {shown}"
    )
    return [forbidden("metadata.finalizers", detail)]


def validate_update(
    kind: str, new: Mapping[str, Any], old: Mapping[str, Any], *, subresource: str = ""
) -> None:
    """Update-time validation (immutability first, then the create rules); a namespace's
    ``/status`` and ``/finalize`` have their own (ValidateNamespace{Status,Finalize}Update)."""
    errs = _object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
    errs += _no_new_finalizers(new, old)
    if kind == "Namespace" and subresource == "status":
        _raise(kind, new, errs + _namespace_status(new))
        return
    if kind == "Secret" and (new.get("type") or "") != (old.get("type") or ""):
        errs.append(invalid("type", new.get("type") or "", _IMMUTABLE))
    if kind in ("Secret", "ConfigMap") and old.get("immutable") is True:
        if new.get("immutable") is not True:
            errs.append(forbidden("immutable", _IMMUTABLE_SET))
        if (new.get("data") or {}) != (old.get("data") or {}):
            errs.append(forbidden("data", _IMMUTABLE_SET))
        if kind == "ConfigMap" and (new.get("binaryData") or {}) != (old.get("binaryData") or {}):
            errs.append(forbidden("binaryData", _IMMUTABLE_SET))
    errs += _RULES[kind](new)
    _raise(kind, new, errs)
