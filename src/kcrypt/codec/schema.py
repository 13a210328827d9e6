"""The JSON shape of the kinds kcrypt serves, and the JSON <-> protobuf mapping.

One declarative table per Go type drives three things, so they cannot drift:
the API's JSON form (what kube-apiserver's ``encoding/json`` would print), the
protobuf that kube-apiserver's gogo marshalers would write, and the list of
known fields for ``fieldValidation=Strict``.

Go semantics reproduced here (see the field flags):

* Protobuf: non-pointer scalars and structs are always written (``name: ""``
  becomes ``0a 00``); pointers (``*bool``, ``*int64``, ``*Time``) only when set;
  maps and slices only when non-empty. proto2 presence in Python gives the same
  control.
* JSON: ``omitempty`` drops "", 0, false, empty maps and slices, nil pointers;
  it never drops a struct, so ``metadata``, Namespace ``spec``/``status`` and
  non-pointer ``Time`` fields are always printed (a zero Time prints ``null``).
* Time is whole seconds, RFC3339 UTC with ``Z``; the zero time is an empty
  protobuf message.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message  # type: ignore[import-untyped]

from kcrypt.codec._compiled import compiled_to_json
from kcrypt.codec._compiled_from_json import compiled_from_json
from kcrypt.codec.errors import InvalidObjectError, ObjectDecodeError

__all__ = [
    "Field",
    "Schema",
    "T",
    "from_json",
    "join_path",
    "to_json",
    "unknown_fields",
    "walk_from_json",
    "walk_to_json",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GO_ZERO_TIME_UNIX = -62135596800  # time.Time{} (0001-01-01T00:00:00Z) as Unix seconds
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z"
)


class T(enum.Enum):
    STR = "string"
    INT = "integer"
    BOOL = "boolean"
    TIME = "timestamp"
    MICROTIME = "timestamp with microseconds"
    STR_MAP = "map of strings"
    BYTES_MAP = "map of base64 strings"
    STR_LIST = "list of strings"
    MSG = "object"
    MSG_LIST = "list of objects"
    RAW_JSON = "raw JSON"


@dataclass(frozen=True, slots=True)
class Field:
    json: str
    type: T
    omitempty: bool = True
    pointer: bool = False
    sub: Schema | None = None
    proto: str = ""

    @property
    def attr(self) -> str:
        return self.proto or self.json


@dataclass(frozen=True, slots=True)
class Schema:
    """A Go struct: its fields in JSON print order; ``type_meta`` if it embeds TypeMeta."""

    fields: tuple[Field, ...]
    type_meta: bool = False
    by_json: dict[str, Field] = field(init=False, repr=False, compare=False)
    plan: tuple[tuple[str, str, T, bool, bool, Schema | None], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_json", {f.json: f for f in self.fields})
        # (attr, json, type, omitempty, pointer, sub) per field: what to_json reads
        # per field, unpacked from one tuple instead of six attribute lookups.
        object.__setattr__(
            self,
            "plan",
            tuple((f.attr, f.json, f.type, f.omitempty, f.pointer, f.sub) for f in self.fields),
        )


def join_path(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


# --------------------------------------------------------------------------- time


def format_time(ts: Message, path: str) -> str | None:
    """metav1.Time as JSON: RFC3339 UTC seconds, or None for the zero time."""
    if ts.ByteSize() == 0:
        return None
    seconds: int = getattr(ts, "seconds")  # noqa: B009 (generated attribute)
    if seconds == _GO_ZERO_TIME_UNIX:
        return None
    try:
        return _format_seconds(seconds)
    except OverflowError:
        raise ObjectDecodeError(f"{path}: timestamp out of range") from None


@functools.lru_cache(maxsize=4096)
def _format_seconds(seconds: int) -> str:
    """Unix seconds -> ``2006-01-02T15:04:05Z``. Cached: an object's timestamps are
    printed on every read of it, and objects written together share seconds."""
    t = _EPOCH + timedelta(seconds=seconds)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def format_micro_time(ts: Message, path: str) -> str | None:
    """metav1.MicroTime as JSON: ``2006-01-02T15:04:05.000000Z``, None for the zero time."""
    text = format_time(ts, path)
    if text is None:
        return None
    micros = int(getattr(ts, "nanos")) // 1000  # noqa: B009 (generated attribute)
    return f"{text[:-1]}.{micros:06d}Z"


def parse_micro_time(value: object, path: str) -> tuple[int, int]:
    """RFC3339 with up to microseconds -> (Unix seconds, nanos), as MicroTime keeps it."""
    seconds = parse_time(value, path)
    m = _RFC3339.match(str(value))
    fraction = (m.group(7) if m else None) or ""
    return seconds, int((fraction + "000000")[:6]) * 1000


def parse_time(value: object, path: str) -> int:
    """RFC3339 (as Go's time.RFC3339 parses it) to Unix seconds, fraction dropped."""
    if not isinstance(value, str):
        raise InvalidObjectError(path, f"expected an RFC3339 timestamp, got {_jtype(value)}")
    seconds = _rfc3339_seconds(value)
    if isinstance(seconds, str):
        raise InvalidObjectError(path, seconds)
    return seconds


@functools.lru_cache(maxsize=4096)
def _rfc3339_seconds(value: str) -> int | str:
    """Unix seconds, or what is wrong with ``value``. Cached: every write reads its
    creationTimestamp and managedFields times, and writes close together share them."""
    m = _RFC3339.match(value)
    if m is None:
        return "timestamp is not RFC3339 (2006-01-02T15:04:05Z07:00)"
    y, mo, d, h, mi, s, _fraction, zone = m.groups()
    try:
        t = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError:
        return "timestamp is out of range"
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    delta = t - _EPOCH
    return delta.days * 86400 + delta.seconds - offset


# --------------------------------------------------------------------------- protobuf -> JSON


def _text(value: str | bytes) -> str:
    """upb hands back proto2 strings that are not UTF-8 as bytes; Go's encoding/json
    prints them with U+FFFD for each bad byte, and so do we."""
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def to_json(msg: Message, schema: Schema, path: str = "") -> dict[str, Any]:
    """The JSON form kube-apiserver prints for ``msg`` (without kind/apiVersion).

    Runs on every object read (GET, list, watch): served by the function
    generated for ``schema`` (``_compiled.py``), which returns exactly what
    :func:`walk_to_json` returns."""
    return compiled_to_json(schema)(msg, path)


def walk_to_json(msg: Message, schema: Schema, path: str = "") -> dict[str, Any]:
    """The reference printer: walks ``schema.plan`` field by field. The generated
    printers make the same decisions; tests compare the two."""
    out: dict[str, Any] = {}
    for name, key, t, omitempty, pointer, sub in schema.plan:
        if pointer and not msg.HasField(name):
            continue
        value = getattr(msg, name)
        if t is T.STR:
            if value or not omitempty:
                out[key] = value if value.__class__ is str else _text(value)
        elif t is T.MSG:
            assert sub is not None
            out[key] = walk_to_json(value, sub, join_path(path, key))
        elif t is T.TIME:
            out[key] = format_time(value, join_path(path, key))
        elif t is T.MICROTIME:
            out[key] = format_micro_time(value, join_path(path, key))
        elif t is T.STR_MAP:
            if value:
                out[key] = {_text(k): _text(value[k]) for k in sorted(value)}
        elif t is T.BYTES_MAP:
            if value:
                out[key] = {
                    _text(k): binascii.b2a_base64(value[k], newline=False).decode("ascii")
                    for k in sorted(value)
                }
        elif t is T.INT or t is T.BOOL:
            if value or not omitempty or pointer:
                out[key] = value
        elif t is T.STR_LIST:
            if value or not omitempty:
                out[key] = [_text(v) for v in value]
        elif t is T.MSG_LIST:
            assert sub is not None
            if value or not omitempty:
                p = join_path(path, key)
                out[key] = [walk_to_json(v, sub, f"{p}[{i}]") for i, v in enumerate(value)]
        else:  # RAW_JSON: FieldsV1 carries its JSON verbatim
            raw: bytes = value.Raw
            try:
                out[key] = json.loads(raw) if raw else None
            except ValueError:
                raise ObjectDecodeError(
                    f"{join_path(path, key)}: raw field set is not valid JSON"
                ) from None
    return out


# --------------------------------------------------------------------------- JSON -> protobuf


def _jtype(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _want(value: object, kind: type | tuple[type, ...], what: str, path: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidObjectError(path, f"expected {what}, got {_jtype(value)}")


def _b64(value: object, path: str) -> bytes:
    if value is None:
        return b""
    _want(value, str, "a base64 string", path)
    assert isinstance(value, str)
    try:
        # encoding/json uses StdEncoding (padded), which skips \r and \n.
        return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidObjectError(path, "illegal base64 data") from None


def from_json(obj: object, msg: Message, schema: Schema, path: str = "") -> None:
    """Fill ``msg`` from the JSON form like Go's decoder would; unknown keys are ignored.

    Runs on every write and request body: served by the function generated for
    ``schema`` (``_compiled_from_json.py``), which fills exactly what
    :func:`walk_from_json` fills."""
    compiled_from_json(schema)(obj, msg, path)


def walk_from_json(obj: object, msg: Message, schema: Schema, path: str = "") -> None:
    """The reference reader: walks ``schema.fields`` one by one. The generated
    readers make the same decisions; tests compare the two."""
    if obj is None:
        obj = {}
    if not isinstance(obj, Mapping):
        raise InvalidObjectError(path, f"expected an object, got {_jtype(obj)}")
    for f in schema.fields:
        name, t, p = f.attr, f.type, join_path(path, f.json)
        value: Any = obj.get(f.json)
        if value is None and (f.pointer or t in (T.STR_MAP, T.BYTES_MAP, T.STR_LIST, T.MSG_LIST)):
            continue
        try:
            if t is T.STR:
                value = "" if value is None else value
                _want(value, str, "a string", p)
                setattr(msg, name, value)
            elif t is T.INT:
                value = 0 if value is None else value
                _want(value, int, "an integer", p)
                setattr(msg, name, value)
            elif t is T.BOOL:
                value = False if value is None else value
                _want(value, bool, "a boolean", p)
                setattr(msg, name, value)
            elif t is T.TIME:
                ts = getattr(msg, name)
                ts.SetInParent()
                if value is not None:
                    seconds = parse_time(value, p)
                    if seconds != _GO_ZERO_TIME_UNIX:
                        ts.seconds = seconds
                        ts.nanos = 0
            elif t is T.MICROTIME:
                ts = getattr(msg, name)
                ts.SetInParent()
                if value is not None:
                    seconds, nanos = parse_micro_time(value, p)
                    if seconds != _GO_ZERO_TIME_UNIX:
                        ts.seconds, ts.nanos = seconds, nanos
            elif t in (T.STR_MAP, T.BYTES_MAP):
                _want(value, Mapping, "an object", p)
                target = getattr(msg, name)
                for k, v in value.items():
                    _want(k, str, "string keys", p)
                    if t is T.BYTES_MAP:
                        target[k] = _b64(v, f"{p}[{k}]")
                    else:
                        v = "" if v is None else v
                        _want(v, str, "a string", f"{p}[{k}]")
                        target[k] = v
            elif t is T.STR_LIST:
                _want(value, list, "an array", p)
                strings = ["" if v is None else v for v in value]
                for i, v in enumerate(strings):
                    _want(v, str, "a string", f"{p}[{i}]")
                getattr(msg, name).extend(strings)
            elif t is T.MSG:
                assert f.sub is not None
                sub = getattr(msg, name)
                sub.SetInParent()
                walk_from_json(value, sub, f.sub, p)
            elif t is T.MSG_LIST:
                assert f.sub is not None
                _want(value, list, "an array", p)
                items = getattr(msg, name)
                for i, v in enumerate(value):
                    walk_from_json(v, items.add(), f.sub, f"{p}[{i}]")
            else:  # RAW_JSON
                raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
                getattr(msg, name).Raw = raw.encode("utf-8")
        except (ValueError, TypeError):  # int64/int32 range, NaN, lone surrogates
            raise InvalidObjectError(p, f"invalid value for a {t.value} field") from None


# --------------------------------------------------------------------------- strict validation


def unknown_fields(obj: Mapping[str, Any], schema: Schema, path: str = "") -> list[str]:
    """JSON paths (``metadata.ownerReferences[0].foo``) not in ``schema``, in document order."""
    found: list[str] = []
    for key, value in obj.items():
        p = join_path(path, key)
        f = schema.by_json.get(key)
        if f is None:
            if not (schema.type_meta and key in ("kind", "apiVersion")):
                found.append(p)
            continue
        if f.sub is None:
            continue
        if f.type is T.MSG and isinstance(value, Mapping):
            found += unknown_fields(value, f.sub, p)
        elif f.type is T.MSG_LIST and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    found += unknown_fields(item, f.sub, f"{p}[{i}]")
    return found
