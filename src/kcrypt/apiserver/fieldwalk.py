"""The schema facts server-side apply needs, and the three walks it makes with them.

The served kinds are small: every map is granular (``data``, ``labels``,
``annotations``: each key is its own field), and only a few lists are not
atomic. Upstream's OpenAPI extensions (``x-kubernetes-list-type`` and
``-list-map-keys``, ``x-kubernetes-map-type``) declare them, and so does
:data:`LISTS` here:

* ``metadata.finalizers``: a set of strings, one field per value;
* ``metadata.ownerReferences``: a map keyed by ``uid`` whose items are atomic;
* ``status.conditions`` (Namespace): a map keyed by ``type``;
* ``spec.finalizers`` (Namespace) and every other list: atomic.

The walks follow structured-merge-diff:

* :func:`field_set` (``ToFieldSet``): the fields an object sets;
* :func:`compare` (``Compare``): fields added, modified and removed between
  two objects, where a map or list that appears or disappears is itself added
  or removed (which is where FieldsV1's ``".": {}`` comes from);
* :func:`created_fields`: what :func:`compare` from nothing gives, straight
  in FieldsV1 form, for the plain create (see the function);
* :func:`merge` (``Merge``): an applied configuration laid over the live
  object, and :func:`remove` (``RemoveItems``) to prune what an applier stopped
  applying.
"""

from __future__ import annotations

import copy
from typing import Any

from kcrypt.apiserver.fieldpath import FieldSet, Path, key_element, value_element

__all__ = ["LISTS", "compare", "created_fields", "field_set", "merge", "remove", "strip"]

SET = "set"
ATOMIC = "atomic"
LISTS: dict[tuple[str, ...], str | tuple[str, ...]] = {
    ("metadata", "finalizers"): SET,
    ("metadata", "ownerReferences"): ("uid",),
    ("metadata", "managedFields"): ATOMIC,
    ("spec", "finalizers"): ATOMIC,
    ("status", "conditions"): ("type",),
}
_ATOMIC_ITEMS = frozenset({("metadata", "ownerReferences")})
_STRIPPED_META = (
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
)


def _kind(spath: tuple[str, ...]) -> str | tuple[str, ...]:
    return LISTS.get(spath, ATOMIC)


def _element(kind: str | tuple[str, ...], item: Any) -> str:
    if kind == SET or not isinstance(item, dict):
        return value_element(item)
    return key_element({k: item.get(k) for k in kind})


# -- ToFieldSet ------------------------------------------------------------------------------


def _collect(value: Any, path: Path, spath: tuple[str, ...], out: set[Path]) -> None:
    if isinstance(value, dict):
        if not value and path:
            out.add(path)
        for key, child in value.items():
            here = (*path, "f:" + key)
            if child is None:
                out.add(here)
            else:
                _collect(child, here, (*spath, key), out)
    elif isinstance(value, list):
        kind = _kind(spath)
        if kind == ATOMIC:
            out.add(path)
            return
        for item in value:
            item_path = (*path, _element(kind, item))
            out.add(item_path)
            if kind != SET and spath not in _ATOMIC_ITEMS and isinstance(item, dict):
                _collect(item, item_path, spath, out)
    elif path:
        out.add(path)


def field_set(obj: dict[str, Any]) -> FieldSet:
    """Every field ``obj`` sets, as upstream's ``ToFieldSet`` lists them."""
    out: set[Path] = set()
    _collect(obj, (), (), out)
    return frozenset(out)


def strip(fields: FieldSet, *, ignored: tuple[str, ...] = ()) -> FieldSet:
    """Without what no manager ever owns (apiVersion, kind, server-set metadata)
    and without the top-level fields ``ignored`` (a subresource's reset fields)."""
    gone: set[Path] = {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    gone |= {("f:metadata", "f:" + f) for f in _STRIPPED_META}
    tops = {"f:" + f for f in ignored}
    return frozenset(
        p
        for p in fields
        if p not in gone
        and p[0] not in tops
        and not (len(p) > 2 and p[0] == "f:metadata" and p[1] == "f:managedFields")
    )


# -- Compare -------------------------------------------------------------------------------


class _Comparison:
    __slots__ = ("added", "modified", "removed")

    def __init__(self) -> None:
        self.added: set[Path] = set()
        self.modified: set[Path] = set()
        self.removed: set[Path] = set()

    def leaf(self, old: Any, new: Any, path: Path) -> None:
        if old is None:
            self.added.add(path)
        elif new is None:
            self.removed.add(path)
        elif old != new or type(old) is not type(new):
            self.modified.add(path)


def _items(kind: str | tuple[str, ...], items: Any) -> dict[str, Any]:
    return {_element(kind, i): i for i in items} if isinstance(items, list) else {}


def _walk(c: _Comparison, old: Any, new: Any, path: Path, spath: tuple[str, ...]) -> None:
    if isinstance(old, dict | None) and isinstance(new, dict | None) and (old or new):
        for key in {**(old or {}), **(new or {})}:
            _walk(c, (old or {}).get(key), (new or {}).get(key), (*path, "f:" + key), (*spath, key))
    elif isinstance(old, list | None) and isinstance(new, list | None) and (old or new):
        kind = _kind(spath)
        if kind == ATOMIC:
            c.leaf(old, new, path)
            return
        before, after = _items(kind, old), _items(kind, new)
        for element in {**before, **after}:
            here = (*path, element)
            if kind == SET or spath in _ATOMIC_ITEMS:
                c.leaf(before.get(element), after.get(element), here)
            else:
                _walk(c, before.get(element), after.get(element), here, spath)
    else:
        c.leaf(old, new, path)
        return
    if path and old is None:
        c.added.add(path)
    elif path and new is None:
        c.removed.add(path)


def compare(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldSet, FieldSet, FieldSet]:
    """(added, modified, removed) from ``old`` to ``new``."""
    c = _Comparison()
    _walk(c, old, new, (), ())
    return frozenset(c.added), frozenset(c.modified), frozenset(c.removed)


def _created(value: dict[str, Any], spath: tuple[str, ...]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key in sorted(value):
        child = value[key]
        if isinstance(child, dict) and child:
            sub = _created(child, (*spath, key))
            if sub is None:
                return None
            out["f:" + key] = {".": {}, **sub}
        elif isinstance(child, list) and child and _kind((*spath, key)) != ATOMIC:
            return None  # sets and keyed lists: the general walk spells their items
        else:
            out["f:" + key] = {}
    return out


def created_fields(obj: dict[str, Any], *, ignored: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The FieldsV1 of everything a new object sets, as ``to_fields_v1(strip(compare({},
    obj)[0]))`` spells it, in one walk: every create records this, and the general
    walk's path sets cost more than the rest of the write's bookkeeping. None for an
    object with a set or keyed list (finalizers, ownerReferences, conditions): the
    general walk handles those."""
    top = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    for name in ignored:
        top.pop(name, None)
    out = _created(top, ())
    if out is None:
        return None
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if k not in _STRIPPED_META}
        sub = _created(kept, ("metadata",))
        if sub is None:
            return None
        if sub:
            out["f:metadata"] = sub
            return dict(sorted(out.items()))
    return out


# -- Merge and RemoveItems -----------------------------------------------------------------


def _merge_list(
    kind: str | tuple[str, ...], live: list[Any], config: list[Any], spath: tuple[str, ...]
) -> list[Any]:
    """Items the config names take its order and value; live-only items keep their place."""
    applied = {_element(kind, i): i for i in config}
    pending = list(config)
    out: list[Any] = []
    for item in live:
        element = _element(kind, item)
        if element not in applied:
            out.append(item)
            continue
        while pending:  # the config's items up to this one, in the config's order
            nxt = pending.pop(0)
            nxt_element = _element(kind, nxt)
            old = next((i for i in live if _element(kind, i) == nxt_element), None)
            atomic = kind == SET or spath in _ATOMIC_ITEMS or old is None
            out.append(nxt if atomic else merge(old, nxt, spath))
            if nxt_element == element:
                break
    for nxt in pending:
        old = next((i for i in live if _element(kind, i) == _element(kind, nxt)), None)
        atomic = kind == SET or spath in _ATOMIC_ITEMS or old is None
        out.append(nxt if atomic else merge(old, nxt, spath))
    return out


def merge(live: Any, config: Any, spath: tuple[str, ...] = ()) -> Any:
    """``config`` laid over ``live``: maps merge key by key, sets and keyed lists item by
    item, everything else (scalars, atomic lists) is replaced."""
    if isinstance(live, dict) and isinstance(config, dict):
        out = dict(live)
        for key, value in config.items():
            out[key] = merge(live.get(key), value, (*spath, key))
        return out
    if isinstance(live, list) and isinstance(config, list) and _kind(spath) != ATOMIC:
        return _merge_list(_kind(spath), live, config, spath)
    return copy.deepcopy(config)


def _remove_one(node: Any, path: Path, spath: tuple[str, ...]) -> None:
    element, rest = path[0], path[1:]
    if isinstance(node, dict) and element.startswith("f:"):
        key = element[2:]
        if not rest:
            node.pop(key, None)
        elif key in node:
            _remove_one(node[key], rest, (*spath, key))
    elif isinstance(node, list):
        kind = _kind(spath)
        for i, item in enumerate(node):
            if _element(kind, item) == element:
                if rest:
                    _remove_one(item, rest, spath)
                else:
                    del node[i]
                return


def remove(obj: dict[str, Any], paths: FieldSet) -> dict[str, Any]:
    """A copy of ``obj`` without the fields and items ``paths`` name."""
    out = copy.deepcopy(obj)
    for path in sorted(paths, key=len, reverse=True):
        if path:
            _remove_one(out, path, ())
    return out
