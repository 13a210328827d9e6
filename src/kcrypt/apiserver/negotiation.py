"""Content negotiation: which representation a client asked for, and body decoding.

Responses: the first clause of ``Accept`` we can serve wins, in the client's
order, with two twists taken from what kubectl needs:

* ``application/json;as=Table;v=v1;g=meta.k8s.io`` (and v1beta1) asks for a
  server-side Table (``kubectl get``), ``as=PartialObjectMetadata[List]`` for
  metadata only;
* protobuf is sent only when it is the *only* thing the client accepts.
  kubectl >= 1.32 sends ``application/vnd.kubernetes.protobuf,application/json``
  and is happy with JSON; a JSON answer is always debuggable.

Requests: JSON, YAML and ``application/vnd.kubernetes.protobuf`` bodies
(kubectl 1.32 creates secrets with protobuf and never retries as JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from starlette.responses import Response

from kcrypt import codec
from kcrypt.apiserver.errors import ApiError

__all__ = [
    "JSON",
    "PROTOBUF",
    "YAML",
    "Target",
    "decode_request",
    "encode",
    "negotiate",
    "render",
    "response",
]

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = codec.PROTOBUF_MEDIA_TYPE
_NOT_ACCEPTABLE = (
    "only the following media types are accepted: application/json, application/yaml, "
    "application/vnd.kubernetes.protobuf"
)
_META_VERSIONS = frozenset({"v1", "v1beta1"})


@dataclass(frozen=True, slots=True)
class Target:
    """``media`` is JSON, YAML or PROTOBUF; ``as_`` is "", "Table",
    "PartialObjectMetadata" or "PartialObjectMetadataList"."""

    media: str = JSON
    as_: str = ""


def _clauses(accept: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for raw in accept.split(","):
        parts = [p.strip() for p in raw.split(";")]
        if not parts[0]:
            continue
        params = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            params[k.strip().lower()] = v.strip().strip('"')
        out.append((parts[0].lower(), params))
    return out


def negotiate(accept: str | None) -> Target:
    """The representation for ``accept``; 406 NotAcceptable when none fits."""
    if not accept or not accept.strip():
        return Target()
    protobuf_seen = False
    for media, params in _clauses(accept):
        if params.get("q") == "0":
            continue
        as_ = params.get("as", "")
        if as_:
            if (
                media == JSON
                and params.get("g") == "meta.k8s.io"
                and params.get("v") in _META_VERSIONS
                and as_ in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList")
            ):
                return Target(JSON, as_)
            continue
        if media in (JSON, "application/*", "*/*"):
            return Target(JSON)
        if media == YAML:
            return Target(YAML)
        if media == PROTOBUF:
            protobuf_seen = True
    if protobuf_seen:
        return Target(PROTOBUF)
    raise ApiError(406, "NotAcceptable", _NOT_ACCEPTABLE)


def render(
    body: Any, target: Target, *, code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``body`` (a JSON-form dict) in the negotiated media type."""
    return response(encode(body, target), target, code=code, headers=headers)


def encode(body: Any, target: Target) -> bytes:
    """The response bytes for ``body``; the same ``target`` always encodes the same way
    (so a GET's bytes can be cached per target, see ``ObjectStore.get_rendered``)."""
    if target.media == PROTOBUF and not target.as_:
        try:
            return codec.encode_protobuf_response(body)
        except codec.CodecError:
            raise ApiError(406, "NotAcceptable", _NOT_ACCEPTABLE) from None
    if target.media == YAML:
        return yaml.safe_dump(body, sort_keys=False, default_flow_style=False).encode()
    return dump_json(body)


def response(
    content: bytes, target: Target, *, code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response carrying ``content`` from :func:`encode` for ``target``."""
    if target.media == PROTOBUF and not target.as_:
        media = PROTOBUF
    elif target.media == YAML:
        media = YAML
    else:
        media = JSON
    return Response(content, status_code=code, media_type=media, headers=headers)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dump_json(body: Any) -> bytes:
    # one encoder for every response: json.dumps with non-default options
    # builds a new JSONEncoder per call
    return _ENCODER.encode(body).encode() + b"\n"


def _media(content_type: str | None) -> str:
    return (content_type or JSON).split(";", 1)[0].strip().lower()


def decode_request(
    content_type: str | None,
    body: bytes,
    *,
    expected: codec.Kind,
    field_validation: str,
) -> tuple[dict[str, Any], list[str]]:
    """The request object and the warnings to send (``fieldValidation=Warn``).

    ``Strict`` turns unknown/duplicate fields into 400 ``strict decoding
    error: ...``; ``Warn`` (the default) reports them in ``Warning`` headers;
    ``Ignore`` drops them silently. Protobuf bodies are never strict (upstream).
    """
    media = _media(content_type)
    if media in (YAML, "application/x-yaml", "text/yaml"):
        try:
            loaded = yaml.safe_load(body)
        except yaml.YAMLError:
            raise ApiError.bad_request("the request body is not valid YAML") from None
        body, media = json.dumps(loaded, default=str).encode(), JSON
    if media not in (JSON, PROTOBUF):
        raise codec.UnsupportedMediaType(content_type or "", (JSON, YAML, PROTOBUF))
    if not body.strip():
        raise ApiError.bad_request("the request body is empty")
    mode = (field_validation or "Warn").capitalize()
    if mode not in ("Strict", "Warn", "Ignore"):
        raise ApiError.bad_request(
            f'fieldValidation "{field_validation}" is invalid: '
            "valid values are Ignore, Warn, Strict"
        )
    if mode == "Ignore" or media == PROTOBUF:
        return _decode(media, body, expected, strict=False), []
    try:
        return _decode(media, body, expected, strict=True), []
    except codec.StrictDecodingError as exc:
        if mode == "Strict":
            raise ApiError.bad_request(str(exc)) from None
        warnings = [f'unknown field "{p}"' for p in exc.unknown]
        warnings += [f'duplicate field "{p}"' for p in exc.duplicate]
        return _decode(media, body, expected, strict=False), warnings


def _decode(media: str, body: bytes, expected: codec.Kind, *, strict: bool) -> dict[str, Any]:
    try:
        return codec.decode_body(media, body, expected=expected, strict=strict)
    except codec.StrictDecodingError:
        raise
    except codec.UnsupportedKindError as exc:
        raise ApiError.bad_request(
            f"the object provided is unrecognized (must be of type {expected.kind}): {exc}"
        ) from None
    except codec.EnvelopeError as exc:
        if media == JSON:
            raise ApiError.bad_request(
                f"couldn't get version/kind; json parse error: {exc}"
            ) from None
        raise ApiError.bad_request(
            f"the request body is not a valid protobuf object: {exc}"
        ) from None
    except codec.CodecError as exc:
        raise ApiError.bad_request(str(exc)) from None


def warning_headers(warnings: list[str]) -> dict[str, str]:
    """One ``Warning: 299 - "..."`` header (comma-joined, as HTTP allows)."""
    if not warnings:
        return {}
    return {"Warning": ", ".join('299 - "' + w.replace('"', '\\"') + '"' for w in warnings)}
