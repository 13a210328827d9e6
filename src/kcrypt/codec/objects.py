"""Kubernetes objects: the API's JSON form <-> the storage/wire protobuf.

kube-apiserver stores built-in objects as ``b"k8s\\x00"`` followed by a
``runtime.Unknown`` whose ``raw`` is the object's own protobuf, and sends the
very same bytes to clients that accept ``application/vnd.kubernetes.protobuf``.
:class:`StoredObject` keeps the decoded protobuf messages, so fields kcrypt
does not model (newer or removed upstream fields) survive a decode/encode round
trip byte for byte; the JSON form is derived from them on demand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message  # type: ignore[import-untyped]

from kcrypt.codec import schema as _schema
from kcrypt.codec.errors import (
    EnvelopeError,
    InvalidObjectError,
    ObjectDecodeError,
    StrictDecodingError,
    UnsupportedKindError,
    UnsupportedMediaType,
)
from kcrypt.codec.kinds import Kind
from kcrypt.codec.model import OBJECT_TYPES, TYPES, TypeInfo
from kcrypt.codec.proto import runtime_pb2

__all__ = [
    "JSON_MEDIA_TYPE",
    "PROTOBUF_MAGIC",
    "PROTOBUF_MEDIA_TYPE",
    "StoredObject",
    "decode_body",
    "decode_message",
    "decode_storage",
    "encode_protobuf_response",
    "encode_storage",
    "stored_form_error",
    "unknown_fields",
]

PROTOBUF_MAGIC = b"k8s\x00"
PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
JSON_MEDIA_TYPE = "application/json"
_ENCRYPTED_PREFIX = b"k8s:enc:"
_JSON_START = frozenset(b" \t\r\n{")


def _type_info(api_version: object, kind: object, *, stored_only: bool = False) -> TypeInfo:
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        raise InvalidObjectError("", "object has no apiVersion/kind")
    info = (OBJECT_TYPES if stored_only else TYPES).get((api_version, kind))
    if info is None:
        raise UnsupportedKindError(api_version, kind)
    return info


@dataclass(frozen=True, slots=True, eq=False)
class StoredObject:
    """A decoded object: the envelope (without ``raw``) and the typed message.

    Treat both messages as read-only; build a new object with :meth:`from_json`
    to change something.
    """

    envelope: runtime_pb2.Unknown
    message: Message
    info: TypeInfo

    @property
    def api_version(self) -> str:
        return self.info.api_version

    @property
    def kind(self) -> str:
        return self.info.kind

    def to_bytes(self) -> bytes:
        """``k8s\\x00`` + Unknown, exactly as kube-apiserver would write it."""
        env = runtime_pb2.Unknown()
        env.CopyFrom(self.envelope)
        env.raw = self.message.SerializeToString(deterministic=True)
        out: bytes = env.SerializeToString(deterministic=True)
        return PROTOBUF_MAGIC + out

    def to_json(self) -> dict[str, Any]:
        """The JSON form the API returns (``kind`` and ``apiVersion`` first)."""
        out: dict[str, Any] = {"kind": self.info.kind, "apiVersion": self.info.api_version}
        try:
            out.update(_schema.to_json(self.message, self.info.schema))
        except UnicodeDecodeError:  # upb cannot look up a map entry whose key is not UTF-8
            raise ObjectDecodeError(
                f"the {self.info.kind} has a map key that is not UTF-8"
            ) from None
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> StoredObject:
        """Build from the JSON form; unknown keys are ignored (see :func:`unknown_fields`)."""
        if not isinstance(obj, Mapping):
            raise InvalidObjectError("", "expected a JSON object")
        info = _type_info(obj.get("apiVersion"), obj.get("kind"))
        message = info.message()
        _schema.from_json(obj, message, info.schema)
        envelope = runtime_pb2.Unknown(
            typeMeta=runtime_pb2.TypeMeta(apiVersion=info.api_version, kind=info.kind),
            contentEncoding="",
            contentType="",
        )
        return cls(envelope=envelope, message=message, info=info)


def _describe_non_protobuf(data: bytes) -> str:
    if not data:
        return "empty value"
    if data.startswith(_ENCRYPTED_PREFIX):
        return "value is encrypted (k8s:enc: prefix); decrypt it before decoding"
    if data.startswith(b"k8s") and len(data) >= 4:
        return f"unsupported protobuf encoding style 0x{data[3]:02x} after the k8s magic"
    if data[0] in _JSON_START:
        return "value is JSON, not protobuf"
    return "value does not start with the Kubernetes protobuf magic k8s\\x00"


def stored_form_error(data: bytes) -> str | None:
    """None when ``data`` starts as a stored object does (protobuf magic, or JSON);
    else why the decoder would refuse it. A cheap check on every decrypted value:
    aescbc has no authentication, so a wrong key that happens to leave a valid
    padding (about 1 in 256) is only caught by what comes out."""
    if data.startswith(PROTOBUF_MAGIC) or (data and data[0] in _JSON_START):
        return None
    return _describe_non_protobuf(data)


def decode_message(data: bytes) -> StoredObject:
    """Decode ``k8s\\x00`` + runtime.Unknown, keeping the messages for a byte-exact re-encode."""
    if not data.startswith(PROTOBUF_MAGIC):
        raise EnvelopeError(_describe_non_protobuf(data))
    envelope = runtime_pb2.Unknown()
    try:
        envelope.ParseFromString(data[len(PROTOBUF_MAGIC) :])
        api_version, kind = envelope.typeMeta.apiVersion, envelope.typeMeta.kind
    except (DecodeError, UnicodeDecodeError, ValueError):
        raise EnvelopeError("the runtime.Unknown envelope is not valid protobuf") from None
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise EnvelopeError("the runtime.Unknown envelope's apiVersion/kind is not UTF-8")
    if not kind:
        raise EnvelopeError("the runtime.Unknown envelope names no kind")
    info = _type_info(api_version, kind)
    message = info.message()
    try:
        message.ParseFromString(envelope.raw)
    except (DecodeError, ValueError):
        raise ObjectDecodeError(f"the {kind} inside the envelope is not valid protobuf") from None
    envelope.ClearField("raw")
    return StoredObject(envelope=envelope, message=message, info=info)


def _load_json(data: bytes | str, *, hook: Any = None) -> Any:
    try:
        return json.loads(data, object_pairs_hook=hook)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise EnvelopeError("value is not valid JSON") from None


def decode_storage(data: bytes) -> dict[str, Any]:
    """A stored value (protobuf, or JSON from a JSON-media-type apiserver) -> JSON form.

    JSON values are normalised through the typed model, as Go's decoder would:
    unknown keys are dropped and the output has the API's field order.
    """
    if data.startswith(PROTOBUF_MAGIC):
        return decode_message(data).to_json()
    if not data or data[0] not in _JSON_START:
        raise EnvelopeError(_describe_non_protobuf(data))
    obj = _load_json(data)
    if not isinstance(obj, dict):
        raise EnvelopeError("JSON value is not an object")
    info = _type_info(obj.get("apiVersion"), obj.get("kind"), stored_only=True)
    message = info.message()
    _schema.from_json(obj, message, info.schema)
    return {
        "kind": info.kind,
        "apiVersion": info.api_version,
        **_schema.to_json(message, info.schema),
    }


def encode_storage(obj: Mapping[str, Any]) -> bytes:
    """JSON form -> the bytes kube-apiserver stores (before encryption)."""
    if not isinstance(obj, Mapping):
        raise InvalidObjectError("", "expected a JSON object")
    _type_info(obj.get("apiVersion"), obj.get("kind"), stored_only=True)
    return StoredObject.from_json(obj).to_bytes()


def encode_protobuf_response(obj: Mapping[str, Any]) -> bytes:
    """JSON form of an object, a list of them or a Status -> protobuf response body."""
    return StoredObject.from_json(obj).to_bytes()


def unknown_fields(obj: Mapping[str, Any]) -> list[str]:
    """JSON paths in ``obj`` that its kind does not have, e.g. ``["spec.foo"]``."""
    if not isinstance(obj, Mapping):
        raise InvalidObjectError("", "expected a JSON object")
    info = _type_info(obj.get("apiVersion"), obj.get("kind"))
    return _schema.unknown_fields(obj, info.schema)


class _Pairs(dict[str, Any]):
    """A JSON object that remembers keys it saw twice (strict decoding reports them)."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Pairs:
    out = _Pairs()
    out.duplicates = []
    for k, v in pairs:
        if k in out:
            out.duplicates.append(k)
        out[k] = v
    return out


def _duplicate_paths(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, _Pairs):
        found += [_schema.join_path(path, k) for k in value.duplicates]
        for k, v in value.items():
            found += _duplicate_paths(v, _schema.join_path(path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _duplicate_paths(v, f"{path}[{i}]")
    return found


def decode_body(
    content_type: str,
    body: bytes,
    *,
    expected: Kind | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """An API request body -> the JSON form, as kube-apiserver's request decoder sees it.

    ``expected`` fills a missing kind/apiVersion (as the URL implies) and rejects
    another kind; ``strict`` (``fieldValidation=Strict``) rejects unknown and
    duplicate fields in JSON bodies (protobuf bodies are never strict upstream).
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media == PROTOBUF_MEDIA_TYPE:
        obj = decode_message(body).to_json()
    elif media == JSON_MEDIA_TYPE:
        obj = _load_json(body, hook=_pairs_hook if strict else None)
        if not isinstance(obj, dict):
            raise InvalidObjectError("", "the request body is not a JSON object")
        if expected is not None:
            if not obj.get("apiVersion"):
                obj["apiVersion"] = expected.api_version
            if not obj.get("kind"):
                obj["kind"] = expected.kind
        if strict:
            unknown, dups = unknown_fields(obj), _duplicate_paths(obj)
            if unknown or dups:
                raise StrictDecodingError(unknown, dups)
    else:
        raise UnsupportedMediaType(content_type, (JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE))
    if expected is not None and (obj.get("apiVersion"), obj.get("kind")) != (
        expected.api_version,
        expected.kind,
    ):
        raise InvalidObjectError(
            "", f"the object provided is unrecognized (must be of type {expected.kind})"
        )
    if media == JSON_MEDIA_TYPE:
        return StoredObject.from_json(obj).to_json()
    return obj
