"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge.

Strategic merge patch is what ``kubectl apply`` and ``kubectl patch`` send.
For the kinds served here nearly every field is a scalar or a string map, so
it is a merge patch plus the directives that can appear on maps
(``$patch: delete|replace|merge``, ``$retainKeys``,
``$deleteFromPrimitiveList/<f>``, ``$setElementOrder/<f>`` which is
dropped) and upstream's list strategies for ``metadata.finalizers`` (merge
as a set) and ``metadata.ownerReferences`` (merge by ``uid``). Every other
list is replaced, as upstream does for lists without a patch strategy.
Server-side apply (``application/apply-patch+yaml``) is :mod:`.apply`'s.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from kcrypt import codec
from kcrypt.apiserver.errors import ApiError

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "Patch",
    "apply_json_patch",
    "merge_patch",
    "parse_patch",
    "strategic_merge_patch",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
_SUPPORTED = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)
_ACCEPTED = (*_SUPPORTED, APPLY_PATCH)


@dataclass(frozen=True, slots=True)
class Patch:
    media: str
    document: Any

    def apply(self, current: dict[str, Any]) -> Any:
        if self.media == JSON_PATCH:
            return apply_json_patch(current, self.document)
        if self.media == MERGE_PATCH:
            return merge_patch(current, self.document)
        return strategic_merge_patch(current, self.document)


def parse_patch(content_type: str | None, body: bytes) -> Patch:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in _SUPPORTED:
        raise codec.UnsupportedMediaType(content_type or "", _ACCEPTED)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError.bad_request(f"error decoding patch: {exc}") from None
    if media == JSON_PATCH:
        if not isinstance(document, list) or not all(isinstance(op, dict) for op in document):
            raise ApiError.bad_request("json patch must be a list of operations")
    elif not isinstance(document, dict):
        raise ApiError.bad_request("error decoding patch: the patch is not a JSON object")
    return Patch(media, document)


# -- RFC 7386 ------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- strategic merge patch ------------------------------------------------------------

_SET_LISTS = frozenset({("metadata", "finalizers")})
_KEYED_LISTS = {("metadata", "ownerReferences"): "uid"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _merge_keyed(current: Any, patch: list[Any], key: str) -> list[Any]:
    result = [copy.deepcopy(x) for x in current] if isinstance(current, list) else []
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(_strip(item))
            continue
        index = next(
            (i for i, x in enumerate(result) if isinstance(x, dict) and x.get(key) == item[key]),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip(item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def strategic_merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """Apply ``patch``; returns ``None`` when the patch deletes the whole map."""
    if not isinstance(patch, dict):
        return _strip(copy.deepcopy(patch))
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip(patch)
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        here = (*path, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, here)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and here in _SET_LISTS:
            existing = list(result.get(key) or [])
            result[key] = existing + [v for v in value if v not in existing]
        elif isinstance(value, list) and here in _KEYED_LISTS:
            result[key] = _merge_keyed(result.get(key), value, _KEYED_LISTS[here])
        else:
            result[key] = _strip(copy.deepcopy(value))
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
    return result


# -- RFC 6902 --------------------------------------------------------------------------


class _PatchFailed(Exception):
    pass


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _PatchFailed(f"invalid JSON pointer: {path!r}")
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, *, allow_end: bool) -> int:
    if allow_end and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise _PatchFailed(f"invalid array index: {token!r}")
    index = int(token)
    if index > len(container) or (not allow_end and index == len(container)):
        raise _PatchFailed(f"array index out of bounds: {index}")
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    cur = doc
    for token in tokens[:-1]:
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list):
            cur = cur[_index(cur, token, allow_end=False)]
        else:
            raise _PatchFailed(f"doc is missing path: {path!r}")
    return cur


def _get(doc: Any, path: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise _PatchFailed(f"doc is missing path: {path!r}")


def _add(doc: Any, path: Any, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise _PatchFailed(f"doc is missing path: {path!r}")
    return doc


def _remove(doc: Any, path: Any) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise _PatchFailed("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, allow_end=False))
    raise _PatchFailed(f"unable to remove nonexistent key: {path!r}")


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def apply_json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """Apply RFC 6902 ``operations`` to a copy of ``document``; failures are 422."""
    doc = copy.deepcopy(document)
    for op in operations:
        name = op.get("op")
        try:
            if name == "add":
                doc = _add(doc, op.get("path"), copy.deepcopy(op.get("value")))
            elif name == "remove":
                doc, _ = _remove(doc, op.get("path"))
            elif name == "replace":
                _get(doc, op.get("path"))
                doc, _ = _remove(doc, op.get("path")) if op.get("path") else (doc, None)
                doc = _add(doc, op.get("path"), copy.deepcopy(op.get("value")))
            elif name == "move":
                source, target = op.get("from"), op.get("path")
                if (
                    isinstance(source, str)
                    and isinstance(target, str)
                    and (target.startswith(source + "/"))
                ):
                    raise _PatchFailed("a value cannot be moved into one of its children")
                doc, value = _remove(doc, source)
                doc = _add(doc, target, value)
            elif name == "copy":
                doc = _add(doc, op.get("path"), copy.deepcopy(_get(doc, op.get("from"))))
            elif name == "test":
                if not _json_equal(_get(doc, op.get("path")), op.get("value")):
                    raise _PatchFailed(f"testing value {op.get('path')} failed: test failed")
            else:
                raise ApiError.bad_request(f"Unexpected kind: {name}")
        except _PatchFailed as exc:
            raise ApiError(422, "Invalid", f"{name} operation does not apply: {exc}") from None
    return doc
