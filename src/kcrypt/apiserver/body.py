"""Reading a request body at the edge: a size cap, a client that goes away, hostile JSON.

Every endpoint that takes a body (the Kubernetes API and the supervisor's
``/v1-kcrypt/`` endpoints) reads it here, so three rules hold everywhere:

* kube-apiserver refuses bodies over 3 MiB (``MaxRequestBodyBytes``) with 413
  ``Request entity too large: limit is 3145728``. A ``Content-Length`` over the
  cap is refused before a byte is read; a chunked body is refused as soon as it
  passes the cap. The answer carries ``Connection: close``, so the server never
  reads (or waits for) the rest.
* A client that disconnects in the middle of its body costs one log line, not
  a traceback (:class:`ClientGone`).
* JSON nested deeper than Python's recursion limit is a 400 like any other
  malformed JSON (:func:`parse_json`), not a RecursionError turned into a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect, Request

from kcrypt.apiserver.errors import ApiError, ClientGone

__all__ = [
    "MAX_REQUEST_BODY_BYTES",
    "ClientGone",
    "parse_json",
    "read_body",
    "too_large",
]

log = logging.getLogger("kcrypt.apiserver.body")

MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024
_CACHED = "kcrypt.body"


def too_large(limit: int = MAX_REQUEST_BODY_BYTES) -> ApiError:
    return ApiError(
        413,
        "RequestEntityTooLarge",
        f"Request entity too large: limit is {limit}",
        headers={"Connection": "close"},
    )


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


async def read_body(request: Request, *, limit: int = MAX_REQUEST_BODY_BYTES) -> bytes:
    """The whole body, at most ``limit`` bytes; read once per request, then remembered."""
    cached = request.scope.get(_CACHED)
    if cached is not None:
        return bytes(cached)
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        log.info(
            "client went away while sending the request body: %s %s (%d bytes received)",
            request.method,
            request.url.path,
            size,
        )
        raise ClientGone("the client disconnected before the request body was complete") from None
    body = b"".join(chunks)
    request.scope[_CACHED] = body
    return body


def parse_json(body: bytes, *, what: str = "the request body") -> Any:
    """``body`` as JSON; malformed, non-UTF-8 or too deeply nested input is a 400."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ApiError.bad_request(f"{what} is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ApiError.bad_request(f"{what} is not valid JSON: {exc}") from None
