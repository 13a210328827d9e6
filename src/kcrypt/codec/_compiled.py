"""``schema.to_json`` unrolled into one generated function per Schema.

Every object read (GET miss, list, watch) prints its protobuf message as the
JSON form. The generic walker in :func:`kcrypt.codec.schema.to_json` pays,
per field, a plan-tuple unpack, a chain of type comparisons and the
omitempty/pointer tests -- for a small Secret that loop was most of the
~12 us decode cost. The function generated here makes the same decisions at
generation time and leaves only the attribute reads and the emits, so it
returns exactly the dict the walker returns (``tests/codec`` checks both on
every fixture) at about half the cost.

The generated source uses only names bound in its own namespace; field names
and JSON keys come from the schema tables in ``model.py`` and are inserted
with :func:`repr`, never as raw text.
"""

from __future__ import annotations

import binascii
import json
import keyword
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kcrypt.codec.errors import ObjectDecodeError

if TYPE_CHECKING:
    from google.protobuf.message import Message  # type: ignore[import-untyped]

    from kcrypt.codec.schema import Schema

__all__ = ["compiled_to_json"]

ToJson = Callable[["Message", str], dict[str, Any]]

# id(schema) -> (schema, function); the schema is kept so its id is never reused.
_COMPILED: dict[int, tuple[Schema, ToJson]] = {}


def compiled_to_json(schema: Schema) -> ToJson:
    """The generated printer of ``schema`` (made once, then looked up)."""
    hit = _COMPILED.get(id(schema))
    if hit is not None:
        return hit[1]
    return _compile(schema)


def _compile(schema: Schema) -> ToJson:
    from kcrypt.codec.schema import T, _text, format_micro_time, format_time, join_path

    # Registered before the subschemas are compiled, so a recursive schema
    # reaches itself through this trampoline instead of recursing forever.
    def trampoline(msg: Message, path: str) -> dict[str, Any]:
        return _COMPILED[id(schema)][1](msg, path)

    _COMPILED[id(schema)] = (schema, trampoline)
    env: dict[str, Any] = {
        "_text": _text,
        "format_time": format_time,
        "format_micro_time": format_micro_time,
        "join_path": join_path,
        "b2a": binascii.b2a_base64,
        "json_loads": json.loads,
        "ObjectDecodeError": ObjectDecodeError,
    }
    lines = ["def to_json(msg, path):", "    out = {}"]
    for i, (name, key, t, omitempty, pointer, sub) in enumerate(schema.plan):
        k = repr(key)
        ind = "    "
        if pointer:
            lines.append(f"    if msg.HasField({name!r}):")
            ind = "        "
        plain = name.isidentifier() and not keyword.iskeyword(name)
        lines.append(f"{ind}v = msg.{name}" if plain else f"{ind}v = getattr(msg, {name!r})")
        if sub is not None:
            env[f"_s{i}"] = compiled_to_json(sub)
        if t is T.STR:
            emit = f"out[{k}] = v if v.__class__ is str else _text(v)"
            lines += [f"{ind}if v:", f"{ind}    {emit}"] if omitempty else [f"{ind}{emit}"]
        elif t is T.MSG:
            lines.append(f"{ind}out[{k}] = _s{i}(v, join_path(path, {k}))")
        elif t is T.TIME:
            lines.append(f"{ind}out[{k}] = format_time(v, join_path(path, {k}))")
        elif t is T.MICROTIME:
            lines.append(f"{ind}out[{k}] = format_micro_time(v, join_path(path, {k}))")
        elif t is T.STR_MAP:
            lines += [
                f"{ind}if v:",
                f"{ind}    out[{k}] = {{_text(m): _text(v[m]) for m in sorted(v)}}",
            ]
        elif t is T.BYTES_MAP:
            lines += [
                f"{ind}if v:",
                f"{ind}    out[{k}] = {{_text(m): b2a(v[m], newline=False).decode('ascii')"
                " for m in sorted(v)}",
            ]
        elif t is T.INT or t is T.BOOL:
            always = not omitempty or pointer
            lines += [f"{ind}out[{k}] = v"] if always else [f"{ind}if v:", f"{ind}    out[{k}] = v"]
        elif t is T.STR_LIST:
            emit = f"out[{k}] = [_text(x) for x in v]"
            lines += [f"{ind}if v:", f"{ind}    {emit}"] if omitempty else [f"{ind}{emit}"]
        elif t is T.MSG_LIST:
            lines += [
                f"{ind}if v:" if omitempty else f"{ind}if True:",
                f"{ind}    p = join_path(path, {k})",
                f"{ind}    out[{k}] = [_s{i}(x, f'{{p}}[{{n}}]') for n, x in enumerate(v)]",
            ]
        else:  # RAW_JSON: FieldsV1 carries its JSON verbatim
            message = "raw field set is not valid JSON"
            lines += [
                f"{ind}raw = v.Raw",
                f"{ind}try:",
                f"{ind}    out[{k}] = json_loads(raw) if raw else None",
                f"{ind}except ValueError:",
                f"{ind}    raise ObjectDecodeError(join_path(path, {k}) + {(': ' + message)!r})"
                " from None",
            ]
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<to_json {id(schema):x}>", "exec"), env)
    fn: ToJson = env["to_json"]
    _COMPILED[id(schema)] = (schema, fn)
    return fn
