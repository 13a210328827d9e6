"""Which API resources an encryption rule (``secrets``, ``*.apps``, ``*.*``) names.

kube-apiserver's rules name group-resources; the rewrite needs URLs. Discovery
(``/api/v1``, ``/apis``, ``/apis/<group>/<version>``) gives, per group, the
preferred version and each resource's scope and verbs. A resource is rewritten
only if it can be listed and updated and is not a subresource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from kcrypt.rke.kube import api_error

__all__ = ["ResourceRef", "resolve_rules"]


@dataclass(frozen=True, slots=True, order=True)
class ResourceRef:
    group: str
    version: str
    resource: str
    namespaced: bool

    @property
    def base(self) -> str:
        """The cluster-wide collection URL path."""
        prefix = "/api/v1" if not self.group else f"/apis/{self.group}/{self.version}"
        return f"{prefix}/{self.resource}"

    def item_path(self, namespace: str | None, name: str) -> str:
        prefix = "/api/v1" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.resource}/{name}"
        return f"{prefix}/{self.resource}/{name}"

    def __str__(self) -> str:
        return self.resource if not self.group else f"{self.resource}.{self.group}"


async def resolve_rules(client: httpx.AsyncClient, rules: list[str]) -> list[ResourceRef]:
    """Every served resource the rules name, each once, in rule order."""
    groups = await _groups(client)
    cache: dict[str, list[ResourceRef]] = {}
    out: list[ResourceRef] = []
    for rule in rules:
        resource, _, group = rule.partition(".")
        names = list(groups) if group == "*" else [group]
        for g in names:
            if g not in groups:
                continue
            if g not in cache:
                cache[g] = await _resources(client, g, groups[g])
            for ref in cache[g]:
                if (resource == "*" or ref.resource == resource) and ref not in out:
                    out.append(ref)
    return out


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    r = await client.get(path)
    if r.status_code != 200:
        raise api_error(r, what=f"discovery {path}")
    return r.json()


async def _groups(client: httpx.AsyncClient) -> dict[str, str]:
    groups = {"": "v1"}
    r = await client.get("/apis")
    if r.status_code == 200:
        for g in r.json().get("groups") or []:
            preferred = (g.get("preferredVersion") or {}).get("version")
            if g.get("name") and preferred:
                groups[g["name"]] = preferred
    return groups


async def _resources(client: httpx.AsyncClient, group: str, version: str) -> list[ResourceRef]:
    path = "/api/v1" if not group else f"/apis/{group}/{version}"
    doc = await _get(client, path)
    out = []
    for res in doc.get("resources") or []:
        name = res.get("name") or ""
        verbs = set(res.get("verbs") or [])
        if "/" in name or not {"list", "update"} <= verbs:
            continue
        out.append(ResourceRef(group, version, name, bool(res.get("namespaced"))))
    return out
