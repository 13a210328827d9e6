"""Discovery: /api, /apis, /api/v1, /version, /openapi/v2 (what kubectl needs).

kubectl's sequence is ``/api`` -> ``/apis`` -> ``/api/v1``; the plain
(non-aggregated) documents are enough. ``/openapi/v2`` is answered 200 with an
empty protobuf document, which makes kubectl skip client-side schema checks
(the server enforces ``fieldValidation=Strict`` itself); the Content-Type
must be ``...spec.v2.v1.0+protobuf`` (Go rejects the ``@`` form kubectl
asks for). ``/openapi/v3`` is not served (404): kubectl then uses v2.
``/version`` reports 1.32, so the gcloud kubectl dispatcher runs kubectl 1.32.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kcrypt.apiserver.negotiation import JSON, dump_json
from kcrypt.codec import KINDS

__all__ = ["VERSION_INFO", "api_resources", "api_versions", "apis", "openapi_v2", "version"]

OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _json(body: Any) -> Response:
    return Response(dump_json(body), media_type=JSON)


def _resource_list() -> dict[str, Any]:
    resources = []
    for kind in sorted(KINDS.values(), key=lambda k: k.resource):
        entry: dict[str, Any] = {
            "name": kind.resource,
            "singularName": kind.singular,
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": _VERBS if kind.namespaced else [v for v in _VERBS if v != "deletecollection"],
        }
        if kind.short_names:
            entry["shortNames"] = list(kind.short_names)
        resources.append(entry)
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}


_RESOURCE_LIST = dump_json(_resource_list())


async def api_versions(request: Request) -> Response:
    host = request.headers.get("host") or "127.0.0.1:6443"
    return _json(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }
    )


async def apis(request: Request) -> Response:
    return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})


async def api_resources(request: Request) -> Response:
    return Response(_RESOURCE_LIST, media_type=JSON)


async def version(request: Request) -> Response:
    return _json(VERSION_INFO)


async def openapi_v2(request: Request) -> Response:
    accept = (request.headers.get("accept") or "").lower()
    if "protobuf" in accept or not accept:
        return Response(b"", media_type=OPENAPI_V2_PROTOBUF)
    return _json(
        {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
            "paths": {},
        }
    )
