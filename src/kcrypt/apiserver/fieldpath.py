"""Field sets: which fields a manager owns, and their ``FieldsV1`` JSON form.

A *path* is a tuple of path elements, each kept in its FieldsV1 spelling
(structured-merge-diff's ``fieldpath`` package):

==========  ======================================================  ==========================
element     meaning                                                  example
==========  ======================================================  ==========================
``f:<n>``   a struct field or a map key                              ``f:data``, ``f:app``
``k:<j>``   an item of a list keyed by fields (``listType=map``)     ``k:{"uid":"0b6e..."}``
``v:<j>``   an item of a list of scalars (``listType=set``)          ``v:"example.com/fin"``
``i:<n>``   a list index (not used by the kinds served here)         ``i:0``
==========  ======================================================  ==========================

A set is a ``frozenset`` of paths; every path in it is a *member* (owned).
In FieldsV1 each element is a key whose value is the subtree below it, ``{}``
for a leaf, and ``".": {}`` marks a node that is itself a member and has
children. Elements are emitted in upstream's order: fields by name, then keys,
then values, then indices; conflict messages print paths as ``.data.key``,
``[uid="x"]`` and ``[="value"]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kcrypt.config._go import go_json

__all__ = [
    "FieldSet",
    "Path",
    "from_fields_v1",
    "key_element",
    "path_string",
    "to_fields_v1",
    "value_element",
]

Path = tuple[str, ...]
FieldSet = frozenset[Path]

_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def key_element(keys: dict[str, Any]) -> str:
    """``k:{"uid":"x"}``: the item's key fields, sorted, as Go marshals them."""
    return "k:" + go_json({k: keys[k] for k in sorted(keys)})


def value_element(value: Any) -> str:
    return "v:" + go_json(value)


def _order(element: str) -> tuple[int, Any]:
    kind, rest = element[0], element[2:]
    if kind == "f":
        return (0, rest)
    if kind == "i":
        return (3, int(rest) if rest.isdigit() else 0)
    try:
        decoded = json.loads(rest)
    except ValueError:
        decoded = rest
    if kind == "k" and isinstance(decoded, dict):
        return (1, json.dumps(sorted(decoded.items()), sort_keys=True))
    return (_RANK.get(kind, 4), json.dumps(decoded, sort_keys=True))


def _tree(paths: Iterable[Path]) -> dict[str, Any]:
    """path set -> nested dict; a ``None`` key marks membership of that node."""
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        node[None] = True  # type: ignore[index]
    return root


def _emit(node: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    children = sorted((k for k in node if k is not None), key=_order)
    if node.get(None) and children:
        out["."] = {}
    for element in children:
        out[element] = _emit(node[element])
    return out


def to_fields_v1(fields: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 JSON object of a set."""
    return _emit(_tree(fields))


def from_fields_v1(doc: Any, prefix: Path = ()) -> FieldSet:
    """The set a FieldsV1 object encodes; ValueError when it is not one."""
    if not isinstance(doc, dict):
        raise ValueError("FieldsV1 must be a JSON object")
    out: set[Path] = set()
    for element, child in doc.items():
        if element == ".":
            if prefix:
                out.add(prefix)
            continue
        if len(element) < 2 or element[1] != ":" or element[0] not in _RANK:
            raise ValueError(f"unknown path element {element!r}")
        path = (*prefix, element)
        if not isinstance(child, dict):
            raise ValueError("FieldsV1 values must be JSON objects")
        if not child:
            out.add(path)
        else:
            out |= from_fields_v1(child, path)
    return frozenset(out)


def _element_string(element: str) -> str:
    kind, rest = element[0], element[2:]
    if kind == "f":
        return "." + rest
    if kind == "i":
        return f"[{rest}]"
    decoded = json.loads(rest)
    if kind == "v":
        return "[=" + (json.dumps(decoded) if isinstance(decoded, str) else rest) + "]"
    parts = [
        f"{k}={json.dumps(v) if isinstance(v, str) else go_json(v)}" for k, v in decoded.items()
    ]
    return "[" + ",".join(parts) + "]"


def path_string(path: Path) -> str:
    """``.metadata.finalizers[="a/b"]``, as conflict messages print a path."""
    return "".join(_element_string(e) for e in path)
