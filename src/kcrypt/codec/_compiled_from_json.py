"""``schema.from_json`` unrolled into one generated function per Schema.

Every write (create, update, patch, apply) and every JSON request body goes
through the JSON -> protobuf reader. The generic walker in
:func:`kcrypt.codec.schema.walk_from_json` pays, per schema field, the
attribute reads of a ``Field``, a path string built before it is known to be
needed, and a chain of type comparisons -- ObjectMeta alone has sixteen
fields, most of them absent. The function generated here decides the type
branches at generation time and builds a path only for an error or a nested
message, so it fills exactly the message the walker fills (``tests/codec``
checks both on every fixture, and that both fail with the same message) at
about half the cost.

The generated source uses only names bound in its own namespace; field names
and JSON keys come from the schema tables in ``model.py`` and are inserted
with :func:`repr`, never as raw text.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kcrypt.codec.errors import InvalidObjectError

if TYPE_CHECKING:
    from google.protobuf.message import Message  # type: ignore[import-untyped]

    from kcrypt.codec.schema import Schema

__all__ = ["compiled_from_json"]

FromJson = Callable[[object, "Message", str], None]

# id(schema) -> (schema, function); the schema is kept so its id is never reused.
_COMPILED: dict[int, tuple[Schema, FromJson]] = {}

# json.dumps with these options builds a new encoder per call; one is enough.
_RAW = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def compiled_from_json(schema: Schema) -> FromJson:
    """The generated reader of ``schema`` (made once, then looked up)."""
    hit = _COMPILED.get(id(schema))
    if hit is not None:
        return hit[1]
    return _compile(schema)


def _type_check(ind: str, kind: str, what: str, k: str) -> list[str]:
    """A ``_want`` inlined: the path is joined only when the check fails."""
    test = f"not isinstance(v, {kind})"
    if kind == "int":
        test = "not isinstance(v, int) or isinstance(v, bool)"
    return [
        f"{ind}if {test}:",
        f"{ind}    raise InvalidObjectError(join_path(path, {k}), "
        f"'expected {what}, got ' + _jtype(v))",
    ]


def _body(t: Any, T: Any, ind: str, k: str, attr: str, i: int) -> list[str]:
    """The statements that read ``v`` (the field's JSON value, not None) into ``msg``."""
    if t is T.STR:
        return [*_type_check(ind, "str", "a string", k), f"{ind}{attr} = v"]
    if t is T.INT:
        return [*_type_check(ind, "int", "an integer", k), f"{ind}{attr} = v"]
    if t is T.BOOL:
        return [*_type_check(ind, "bool", "a boolean", k), f"{ind}{attr} = v"]
    if t is T.TIME or t is T.MICROTIME:
        micro = t is T.MICROTIME
        parse = "parse_micro_time" if micro else "parse_time"
        return [
            f"{ind}ts = {attr}",
            f"{ind}ts.SetInParent()",
            f"{ind}if v is not None:",
            f"{ind}    {'seconds, nanos' if micro else 'seconds'} = "
            f"{parse}(v, join_path(path, {k}))",
            f"{ind}    if seconds != ZERO:",
            f"{ind}        ts.seconds = seconds",
            f"{ind}        ts.nanos = {'nanos' if micro else '0'}",
        ]
    if t is T.STR_MAP or t is T.BYTES_MAP:
        lines = [*_type_check(ind, "Mapping", "an object", k), f"{ind}target = {attr}"]
        lines += [f"{ind}for mk, mv in v.items():"]
        lines += [
            f"{ind}    if not isinstance(mk, str):",
            f"{ind}        raise InvalidObjectError(join_path(path, {k}), "
            "'expected string keys, got ' + _jtype(mk))",
        ]
        if t is T.BYTES_MAP:
            return [*lines, f"{ind}    target[mk] = _b64(mv, {_p(k)} + '[' + mk + ']')"]
        return [
            *lines,
            f"{ind}    if mv is None:",
            f"{ind}        mv = ''",
            f"{ind}    elif not isinstance(mv, str):",
            f"{ind}        raise InvalidObjectError({_p(k)} + '[' + mk + ']', "
            "'expected a string, got ' + _jtype(mv))",
            f"{ind}    target[mk] = mv",
        ]
    if t is T.STR_LIST:
        return [
            *_type_check(ind, "list", "an array", k),
            f"{ind}strings = ['' if x is None else x for x in v]",
            f"{ind}for n, x in enumerate(strings):",
            f"{ind}    if not isinstance(x, str):",
            f"{ind}        raise InvalidObjectError({_p(k)} + '[' + str(n) + ']', "
            "'expected a string, got ' + _jtype(x))",
            f"{ind}{attr}.extend(strings)",
        ]
    if t is T.MSG:
        return [f"{ind}sub = {attr}", f"{ind}sub.SetInParent()", f"{ind}_s{i}(v, sub, {_p(k)})"]
    if t is T.MSG_LIST:
        return [
            *_type_check(ind, "list", "an array", k),
            f"{ind}items = {attr}",
            f"{ind}p = {_p(k)}",
            f"{ind}for n, x in enumerate(v):",
            f"{ind}    _s{i}(x, items.add(), p + '[' + str(n) + ']')",
        ]
    return [f"{ind}{attr}.Raw = _raw(v).encode('utf-8')"]  # RAW_JSON


def _p(k: str) -> str:
    return f"join_path(path, {k})"


def _compile(schema: Schema) -> FromJson:
    from kcrypt.codec.schema import (
        _GO_ZERO_TIME_UNIX,
        T,
        _b64,
        _jtype,
        join_path,
        parse_micro_time,
        parse_time,
    )

    # Registered before the subschemas are compiled (see _compiled.py).
    def trampoline(obj: object, msg: Message, path: str) -> None:
        _COMPILED[id(schema)][1](obj, msg, path)

    _COMPILED[id(schema)] = (schema, trampoline)
    env: dict[str, Any] = {
        "Mapping": Mapping,
        "InvalidObjectError": InvalidObjectError,
        "ZERO": _GO_ZERO_TIME_UNIX,
        "_b64": _b64,
        "_jtype": _jtype,
        "_raw": _RAW,
        "join_path": join_path,
        "parse_micro_time": parse_micro_time,
        "parse_time": parse_time,
    }
    lines = [
        "def from_json(obj, msg, path):",
        "    if obj is None:",
        "        obj = {}",
        "    if not isinstance(obj, Mapping):",
        "        raise InvalidObjectError(path, 'expected an object, got ' + _jtype(obj))",
        "    get = obj.get",
    ]
    containers = (T.STR_MAP, T.BYTES_MAP, T.STR_LIST, T.MSG_LIST)
    for i, f in enumerate(schema.fields):
        if f.sub is not None:
            env[f"_s{i}"] = compiled_from_json(f.sub)
        k, name = repr(f.json), f.attr
        plain = name.isidentifier() and not keyword.iskeyword(name)
        attr = f"msg.{name}" if plain else f"getattr(msg, {name!r})"
        lines += [f"    v = get({k})", "    try:"]
        zero = {T.STR: "''", T.INT: "0", T.BOOL: "False"}.get(f.type)
        if f.pointer or f.type in containers:
            lines.append("        if v is not None:")
            ind = "            "
        else:
            if zero is not None:
                lines += ["        if v is None:", f"            v = {zero}"]
            ind = "        "
        body = _body(f.type, T, ind, k, attr, i)
        if zero is not None and not plain:  # setattr for an attribute name Python reserves
            body[-1] = f"{ind}setattr(msg, {name!r}, v)"
        lines += body
        problem = f"invalid value for a {f.type.value} field"
        lines += [
            "    except (ValueError, TypeError):",
            f"        raise InvalidObjectError(join_path(path, {k}), {problem!r}) from None",
        ]
    exec(compile("\n".join(lines), f"<from_json {id(schema):x}>", "exec"), env)
    fn: FromJson = env["from_json"]
    _COMPILED[id(schema)] = (schema, fn)
    return fn
