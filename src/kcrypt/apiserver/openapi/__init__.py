"""``/openapi/v2`` and ``/openapi/v3``, served as kube-openapi serves them.

* ``/openapi/v2``: gnostic protobuf for kubectl (``Accept: application/
  com.github.proto-openapi.spec.v2@v1.0+protobuf``, answered with the
  ``...spec.v2.v1.0+protobuf`` Content-Type Go can parse), JSON otherwise;
* ``/openapi/v3``: ``{"paths": {"api/v1": {"serverRelativeURL":
  "/openapi/v3/api/v1?hash=<H>"}}}``; the document answers with the hash it was
  asked for as an immutable, year-long cacheable response, a stale hash with a
  301 to the current one (kube-openapi's handler3), and an unknown path 404.

The documents are built once, at import: the served kinds never change.
"""

from __future__ import annotations

import hashlib
import time
from email.utils import formatdate

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.negotiation import JSON, Target, dump_json, render
from kcrypt.apiserver.openapi.documents import v2_document, v2_protobuf, v3_core_document
from kcrypt.apiserver.status import error_status

__all__ = ["V2_PROTOBUF", "v2", "v3_document", "v3_paths"]

V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_V3_PROTOBUF = "application/com.github.proto-openapi.spec.v3"


def _etag(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest().upper()


_V2_PB = v2_protobuf()
_V2_JSON = dump_json(v2_document())
_V3 = {"api/v1": dump_json(v3_core_document())}
_V3_HASH = {path: _etag(body) for path, body in _V3.items()}
_V3_INDEX = dump_json(
    {
        "paths": {
            path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
            for path, digest in _V3_HASH.items()
        }
    }
)
_YEAR = 365 * 24 * 3600


async def v2(request: Request) -> Response:
    accept = (request.headers.get("accept") or "").lower()
    if "protobuf" in accept or not accept:
        return Response(_V2_PB, media_type=V2_PROTOBUF, headers={"ETag": f'"{_etag(_V2_PB)}"'})
    return Response(_V2_JSON, media_type=JSON, headers={"ETag": f'"{_etag(_V2_JSON)}"'})


async def v3_paths(request: Request) -> Response:
    return Response(_V3_INDEX, media_type=JSON)


def _wants_json(accept: str | None) -> bool:
    if not accept:
        return True
    for clause in accept.split(","):
        media = clause.split(";", 1)[0].strip().lower()
        if media in (JSON, "application/*", "*/*"):
            return True
    return False


async def v3_document(request: Request) -> Response:
    path = request.path_params["path"]
    body = _V3.get(path)
    if body is None:
        return render(error_status(ApiError.not_found()), Target(), code=404)
    if not _wants_json(request.headers.get("accept")):
        message = f"only {JSON} is served here ({_V3_PROTOBUF} is not)"
        return render(error_status(ApiError(406, "NotAcceptable", message)), Target(), code=406)
    digest = _V3_HASH[path]
    asked = request.query_params.get("hash")
    if asked and asked != digest:
        return RedirectResponse(f"/openapi/v3/{path}?hash={digest}", status_code=301)
    headers = {"ETag": f'"{digest}"', "Vary": "Accept"}
    if asked:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = _expires()
    else:
        headers["Cache-Control"] = "no-cache, private"
    return Response(body, media_type=JSON, headers=headers)


def _expires() -> str:
    return formatdate(time.time() + _YEAR, usegmt=True)
