"""Discovery: ``/api``, ``/apis`` and each group-version's resource list.

Both forms kubectl reads are served from :mod:`.served`:

* legacy: ``/api`` (APIVersions) -> ``/apis`` (APIGroupList) -> ``/api/v1``
  and ``/apis/<group>/v1`` (APIResourceList, subresources as
  ``namespaces/status``);
* aggregated (``apidiscovery.k8s.io`` v2 and v2beta1), which kubectl 1.30+
  asks for first on ``/api`` and ``/apis``: one APIGroupDiscoveryList per
  request, recognised by the ``g``/``v``/``as`` parameters of its
  Content-Type, so kubectl skips the per-group requests.

Every document offers only what is served, so ``kubectl api-resources`` and
RESTMapper lookups see exactly the routes that exist.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.negotiation import JSON, dump_json
from kcrypt.apiserver.served import CORE, GROUPS, Served
from kcrypt.apiserver.status import error_status

__all__ = ["api_group", "api_resources", "api_versions", "apis", "group_resources"]

_DISCOVERY = "apidiscovery.k8s.io"
_AGGREGATED = ("v2", "v2beta1")


def _legacy_entry(s: Served) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": s.resource,
        "singularName": s.singular,
        "namespaced": s.namespaced,
        "kind": s.kind,
        "verbs": list(s.verbs),
    }
    if s.short_names:
        entry["shortNames"] = list(s.short_names)
    if s.categories:
        entry["categories"] = list(s.categories)
    subs = [
        {
            "name": f"{s.resource}/{sub.name}",
            "singularName": "",
            "namespaced": s.namespaced,
            "kind": sub.kind,
            "verbs": list(sub.verbs),
        }
        for sub in s.subresources
    ]
    return [entry, *subs]


def _resource_list(group_version: str, resources: tuple[Served, ...]) -> bytes:
    listed = [e for s in resources for e in _legacy_entry(s)]
    return dump_json(
        {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": listed,
        }
    )


def _group(name: str) -> dict[str, Any]:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}


def _aggregated_resource(s: Served) -> dict[str, Any]:
    kind = {"group": s.group, "version": s.version, "kind": s.kind}
    entry: dict[str, Any] = {
        "resource": s.resource,
        "responseKind": kind,
        "scope": "Namespaced" if s.namespaced else "Cluster",
        "singularResource": s.singular,
        "verbs": list(s.verbs),
    }
    if s.short_names:
        entry["shortNames"] = list(s.short_names)
    if s.categories:
        entry["categories"] = list(s.categories)
    if s.subresources:
        entry["subresources"] = [
            {
                "subresource": sub.name,
                "responseKind": {**kind, "kind": sub.kind},
                "verbs": list(sub.verbs),
            }
            for sub in s.subresources
        ]
    return entry


def _aggregated(version: str, groups: dict[str, tuple[Served, ...]]) -> bytes:
    items = [
        {
            "metadata": {"name": name},
            "versions": [
                {
                    "version": "v1",
                    "resources": [_aggregated_resource(s) for s in served],
                    "freshness": "Current",
                }
            ],
        }
        for name, served in groups.items()
    ]
    return dump_json(
        {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": f"{_DISCOVERY}/{version}",
            "metadata": {},
            "items": items,
        }
    )


_CORE_LIST = _resource_list("v1", CORE)
_GROUP_LISTS = {g: _resource_list(f"{g}/v1", served) for g, served in GROUPS.items()}
_AGG_CORE = {v: _aggregated(v, {"": CORE}) for v in _AGGREGATED}
_AGG_GROUPS = {v: _aggregated(v, GROUPS) for v in _AGGREGATED}


def _aggregated_version(accept: str | None) -> str | None:
    """The apidiscovery version the client prefers, if it asks for aggregated discovery."""
    for clause in (accept or "").split(","):
        media, *rest = (p.strip() for p in clause.split(";"))
        params = dict(p.partition("=")[::2] for p in rest)
        if media.lower() not in (JSON, "application/*", "*/*"):
            continue
        if params.get("g") == _DISCOVERY and params.get("as") == "APIGroupDiscoveryList":
            if params.get("v") in _AGGREGATED:
                return params["v"]
            continue
        return None  # plain JSON comes first: the legacy document
    return None


def _respond(request: Request, legacy: Any, aggregated: dict[str, bytes]) -> Response:
    version = _aggregated_version(request.headers.get("accept"))
    if version is None:
        return Response(dump_json(legacy), media_type=JSON)
    media = f"{JSON};g={_DISCOVERY};v={version};as=APIGroupDiscoveryList"
    return Response(aggregated[version], media_type=media)


async def api_versions(request: Request) -> Response:
    host = request.headers.get("host") or "127.0.0.1:6443"
    legacy = {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }
    return _respond(request, legacy, _AGG_CORE)


async def apis(request: Request) -> Response:
    legacy = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUPS]}
    return _respond(request, legacy, _AGG_GROUPS)


async def api_resources(request: Request) -> Response:
    return Response(_CORE_LIST, media_type=JSON)


def _not_found() -> Response:
    return Response(dump_json(error_status(ApiError.not_found())), 404, media_type=JSON)


async def api_group(request: Request) -> Response:
    group = request.path_params["group"]
    if group not in GROUPS:
        return _not_found()
    body = dump_json({"kind": "APIGroup", "apiVersion": "v1", **_group(group)})
    return Response(body, media_type=JSON)


async def group_resources(request: Request) -> Response:
    listed = _GROUP_LISTS.get(request.path_params["group"])
    if listed is None or request.path_params["version"] != "v1":
        return _not_found()
    return Response(listed, media_type=JSON)
