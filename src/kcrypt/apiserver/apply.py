"""Server-side apply: ``PATCH`` with ``application/apply-patch+yaml``.

As k8s.io/apimachinery's field manager and structured-merge-diff do it:

1. the applied configuration is merged over the live object (an absent
   object is created from nothing: apply creates);
2. fields this manager applied last time and no longer applies are removed,
   unless another manager owns them too (pruning);
3. any field the result changes that another manager owns is a conflict:
   409 ``Apply failed with N conflict(s): ...`` with one ``FieldManagerConflict``
   cause per field, unless ``force`` takes the fields over. A field applied
   with the value it already has is shared, not a conflict;
4. the manager's ``Apply`` entry becomes exactly the applied field set.

``kubectl apply --server-side`` after client-side apply: for the manager
``kubectl``, conflicts that all lie in fields the object's
``last-applied-configuration`` still agrees with are forced, and an existing
annotation is rewritten from the applied configuration, as upstream's
last-applied manager does. ``stringData`` is folded into ``data`` before the
merge, as on create, so the applier owns the ``data`` keys.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import yaml

from kcrypt import codec
from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.fieldpath import FieldSet, Path, path_string
from kcrypt.apiserver.fieldwalk import compare, merge, remove, strip
from kcrypt.apiserver.managedfields import (
    APPLY,
    UPDATE,
    Clock,
    Manager,
    decode,
    encode,
    ignored_fields,
    tracked_fields,
)

__all__ = ["LAST_APPLIED", "apply_patch", "parse_apply"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_CSA_UPGRADING_MANAGER = "kubectl"

Obj = dict[str, Any]


def parse_apply(body: bytes, kind: codec.Kind) -> Obj:
    """The applied configuration; 400 for YAML that does not parse or names another kind."""
    try:
        config = yaml.safe_load(body)
    except (yaml.YAMLError, RecursionError) as exc:
        raise ApiError.bad_request(f"error decoding YAML: {exc}") from None
    if not isinstance(config, dict):
        raise ApiError.bad_request("error decoding YAML: the applied configuration is not a map")
    version, found = config.get("apiVersion") or "", config.get("kind") or ""
    if (version, found) != (kind.api_version, kind.kind):
        group, _, ver = str(version).rpartition("/")
        raise ApiError.bad_request(f"invalid object type: {group}/{ver}, Kind={found}")
    meta = config.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        raise ApiError.bad_request("metadata.managedFields must be nil")
    unknown = codec.unknown_fields(config)
    if unknown:
        raise ApiError.bad_request(
            f"failed to create typed patch object ({kind.api_version.rpartition('/')[0]}/"
            f"{kind.api_version.rpartition('/')[2]}, Kind={kind.kind}): "
            f".{unknown[0]}: field not declared in schema"
        )
    string_data = config.pop("stringData", None)
    if kind.kind == "Secret" and isinstance(string_data, dict):
        data = config.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode("ascii")
        config["data"] = data
    return config


def _conflict(conflicts: dict[Manager, FieldSet]) -> ApiError:
    def who(m: Manager) -> str:
        text = json.dumps(m.manager)
        if m.subresource:
            text += f" with subresource {json.dumps(m.subresource)}"
        return text + (f" using {m.api_version}" if m.operation == UPDATE else "")

    pairs = sorted(
        ((who(m), path_string(p)) for m, paths in conflicts.items() for p in paths),
    )
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {w}", "field": p}
        for w, p in pairs
    ]
    if len(pairs) == 1:
        message = f"Apply failed with 1 conflict: conflict with {pairs[0][0]}: {pairs[0][1]}"
    else:
        lines: list[str] = []
        for w in sorted({w for w, _ in pairs}):
            lines.append(f"conflicts with {w}:")
            lines += [f"- {p}" for ww, p in pairs if ww == w]
        message = f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, details={"causes": causes})


def _lookup(obj: Any, path: Path) -> Any:
    node = obj
    for element in path:
        if isinstance(node, dict) and element.startswith("f:"):
            node = node.get(element[2:])
        else:
            return None  # list items: not needed for the annotation check
    return node


def _forgiven(live: Obj, conflicts: dict[Manager, FieldSet]) -> bool:
    """Every conflict lies in a field the last-applied annotation still agrees with."""
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(raw) if raw else None
    except ValueError:
        return False
    if not isinstance(last, dict):
        return False
    paths = {p for fields in conflicts.values() for p in fields}
    return all(_lookup(last, p) is not None and _lookup(last, p) == _lookup(live, p) for p in paths)


def apply_patch(
    live: Obj | None,
    config: Obj,
    *,
    manager: str,
    force: bool,
    resource: str,
    now: Clock,
    subresource: str = "",
) -> Obj:
    """The object after applying ``config`` over ``live`` (None: it does not exist yet)."""
    base: Obj = (
        live
        if live is not None
        else {"apiVersion": config["apiVersion"], "kind": config["kind"], "metadata": {}}
    )
    entries = (base.get("metadata") or {}).get("managedFields")
    managers = decode(entries) or []
    if live is not None and not entries:  # first apply to an untracked object
        before = tracked_fields(live, resource=resource, subresource=subresource)
        if before:
            managers.append(Manager("before-first-apply", UPDATE, "v1", before, time=now()))
    applied = tracked_fields(config, resource=resource, subresource=subresource)
    me = Manager(manager, APPLY, "v1", applied, subresource=subresource)
    last = next((m for m in managers if m.identity == me.identity), None)
    others = [m for m in managers if m.identity != me.identity]
    merged: Obj = merge(base, config)
    if last is not None:
        owned_elsewhere = frozenset().union(*(m.fields for m in others))
        merged = remove(merged, last.fields - applied - owned_elsewhere)
    ignored = ignored_fields(resource, subresource)
    added, modified, removed = compare(base, merged)
    changed = strip(added | modified, ignored=ignored)
    removed = strip(removed, ignored=ignored)
    conflicts = {m: m.fields & changed for m in others if m.fields & changed}
    forgiven = manager == _CSA_UPGRADING_MANAGER and live is not None and _forgiven(live, conflicts)
    if conflicts and not force and not forgiven:
        raise _conflict(conflicts)
    kept = [replace(m, fields=m.fields - changed - removed) for m in others]
    object_changed = bool(changed or removed) or live is None
    time = now() if object_changed or last is None else last.time
    out = [m for m in kept if m.fields]
    out.append(replace(me, time=time))
    meta = merged.setdefault("metadata", {})
    meta["managedFields"] = encode(out)
    annotations = meta.get("annotations") or {}
    if manager == _CSA_UPGRADING_MANAGER and annotations.get(LAST_APPLIED):
        shown = json.loads(json.dumps(config))
        (shown.get("metadata") or {}).get("annotations", {}).pop(LAST_APPLIED, None)
        annotations[LAST_APPLIED] = json.dumps(shown, separators=(",", ":")) + "\n"
    return merged
