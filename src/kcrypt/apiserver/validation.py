"""kube-apiserver's validation for Secrets, ConfigMaps and Namespaces, same messages.

Ported rule by rule from k8s.io/apimachinery ``pkg/util/validation`` and
``pkg/api/validation`` (names, labels, annotations) and kubernetes
``pkg/apis/core/validation`` (ValidateSecret[Update], ValidateConfigMap[Update],
ValidateNamespace[Update]). Messages are the upstream strings, because
scripts and people grep for them. Keys are checked in sorted order (Go's map
order is random, so upstream has no order to match).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from kcrypt.storage import Cause, Invalid

__all__ = ["MAX_SECRET_SIZE", "validate", "validate_update"]

MAX_SECRET_SIZE = 1 * 1024 * 1024
_TOTAL_ANNOTATION_SIZE = 256 * 1024
_IMMUTABLE_SET = "field is immutable when `immutable` is set"
_IMMUTABLE = "field is immutable"

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL = re.compile(r"\A" + _DNS1123_LABEL_FMT + r"\Z")
_DNS1123_SUBDOMAIN = re.compile(r"\A" + _DNS1123_SUBDOMAIN_FMT + r"\Z")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY = re.compile(r"\A" + _CONFIG_KEY_FMT + r"\Z")
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME = re.compile(r"\A" + _QNAME_FMT + r"\Z")
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_LABEL_VALUE = re.compile(r"\A" + _LABEL_VALUE_FMT + r"\Z")
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    out = msg + " (e.g. "
    for i, ex in enumerate(examples):
        if i:
            out += " or "
        out += f"'{ex}', "
    return out + f"regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value.encode()) > 253:
        errs.append(_max_len(253))
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value.encode()) > 63:
        errs.append(_max_len(63))
    if not _DNS1123_LABEL.match(value):
        if _DNS1123_SUBDOMAIN.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _DNS1123_LABEL_FMT,
                    "my-name",
                    "123-abc",
                )
            )
    return errs


def is_config_map_key(value: str) -> list[str]:
    errs = []
    if len(value.encode()) > 253:
        errs.append(_max_len(253))
    if not _CONFIG_KEY.match(value):
        errs.append(
            _regex_error(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                _CONFIG_KEY_FMT,
                "key.name",
                "KEY_NAME",
                "key-name",
            )
        )
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_qualified_name(value: str) -> list[str]:
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    else:
        return [
            "a qualified name "
            + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _QNAME.match(name):
        errs.append(
            "name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _LABEL_VALUE.match(value):
        errs.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


# -- field errors (k8s.io/apimachinery/pkg/util/validation/field) -------------


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def invalid(field: str, value: Any, detail: str) -> Cause:
    body = f"Invalid value: {_quote(value)}"
    return Cause("FieldValueInvalid", f"{body}: {detail}" if detail else body, field)


def required(field: str, detail: str = "") -> Cause:
    return Cause(
        "FieldValueRequired", f"Required value: {detail}" if detail else "Required value", field
    )


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def too_long(field: str, max_bytes: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be more than {max_bytes} bytes", field)


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
    return _object_meta(obj.get("metadata") or {}, namespaced=False, name_fn=is_dns1123_label)


_RULES: dict[str, Callable[[Mapping[str, Any]], list[Cause]]] = {
    "Secret": _secret,
    "ConfigMap": _config_map,
    "Namespace": _namespace,
}


def _raise(kind: str, obj: Mapping[str, Any], errs: list[Cause]) -> None:
    if errs:
        meta = obj.get("metadata") or {}
        raise Invalid(kind, str(meta.get("name") or meta.get("generateName") or ""), errs)


def validate(kind: str, obj: Mapping[str, Any]) -> None:
    """Create-time validation; raises :class:`kcrypt.storage.Invalid`."""
    _raise(kind, obj, _RULES[kind](obj))


def validate_update(kind: str, new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Update-time validation (immutability first, then the create rules)."""
    errs = _object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
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
