"""Discovery documents kubectl reads, and the bearer-token gate in front of everything."""

from __future__ import annotations

import importlib.metadata
import re

import httpx
import pytest

from kcrypt.apiserver import TokenAuthenticator

from ._support import SECRETS, TOKEN, assert_status


async def test_api_and_apis(client: httpx.AsyncClient) -> None:
    api = (await client.get("/api")).json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    apis = (await client.get("/apis")).json()
    assert apis["kind"] == "APIGroupList"
    assert [g["name"] for g in apis["groups"]] == ["authentication.k8s.io", "authorization.k8s.io"]
    assert apis["groups"][1]["preferredVersion"] == {
        "groupVersion": "authorization.k8s.io/v1",
        "version": "v1",
    }


async def test_core_v1_resource_list(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1")).json()
    assert body["kind"] == "APIResourceList" and body["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in body["resources"]}
    assert set(by_name) == {
        "configmaps",
        "events",
        "namespaces",
        "namespaces/finalize",
        "namespaces/status",
        "secrets",
        "services",
    }
    assert by_name["secrets"]["namespaced"] is True and by_name["secrets"]["kind"] == "Secret"
    assert "categories" not in by_name["secrets"]  # upstream gives secrets no category
    assert by_name["configmaps"]["shortNames"] == ["cm"]
    assert by_name["namespaces"]["shortNames"] == ["ns"]
    assert by_name["namespaces"]["namespaced"] is False
    assert by_name["namespaces/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["namespaces/finalize"]["verbs"] == ["update"]
    assert by_name["events"]["shortNames"] == ["ev"]
    assert by_name["services"]["categories"] == ["all"]
    assert by_name["services"]["verbs"] == ["get", "list", "watch"]
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(
        by_name["secrets"]["verbs"]
    )


async def test_aggregated_discovery_is_what_kubectl_asks_for_first(
    client: httpx.AsyncClient,
) -> None:
    accept = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
        "application/json"
    )
    r = await client.get("/api", headers={"Accept": accept})
    assert r.headers["content-type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    doc = r.json()
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    (core,) = doc["items"]
    assert core["metadata"] == {"name": ""}
    (v1,) = core["versions"]
    assert v1["version"] == "v1" and v1["freshness"] == "Current"
    by_name = {r["resource"]: r for r in v1["resources"]}
    assert by_name["secrets"]["responseKind"] == {"group": "", "version": "v1", "kind": "Secret"}
    assert by_name["secrets"]["scope"] == "Namespaced"
    assert by_name["namespaces"]["scope"] == "Cluster"
    assert [s["subresource"] for s in by_name["namespaces"]["subresources"]] == [
        "finalize",
        "status",
    ]
    groups = (await client.get("/apis", headers={"Accept": accept})).json()
    assert [g["metadata"]["name"] for g in groups["items"]] == [
        "authentication.k8s.io",
        "authorization.k8s.io",
    ]
    legacy = await client.get("/api", headers={"Accept": "application/json"})
    assert legacy.json()["kind"] == "APIVersions"


async def test_version_is_kcrypts_in_kubernetes_shape(client: httpx.AsyncClient) -> None:
    body = (await client.get("/version?timeout=5s")).json()
    assert list(body) == [
        "major",
        "minor",
        "gitVersion",
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    ]
    assert body["major"] == "1" and body["minor"] == "32"
    assert body["gitVersion"] == f"v1.32.0+kcrypt-{importlib.metadata.version('kcrypt')}"
    assert re.fullmatch(  # strict semver, as kubectl version requires
        r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?",
        body["gitVersion"],
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"bearer{TOKEN}"],
)
@pytest.mark.parametrize("path", ["/api", "/version", SECRETS, "/no/such/path"])
async def test_every_endpoint_needs_the_bearer_token(
    client: httpx.AsyncClient, header: str | None, path: str
) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as bare:
        response = await bare.get(path, headers=headers)
    if path == "/version" and header is None:
        assert response.status_code == 200  # anonymous, as kube-apiserver serves it
        return
    assert response.status_code == 401
    body = response.json()
    assert_status(body, code=401, reason="Unauthorized")
    assert body["message"] == "Unauthorized"


async def test_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get("/api", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


def test_token_authenticator_compares_and_never_shows_the_token() -> None:
    check = TokenAuthenticator(TOKEN)
    assert check(TOKEN)
    assert not check(TOKEN + "x")
    assert not check("")
    assert TOKEN not in repr(check)
    with pytest.raises(ValueError):
        TokenAuthenticator("")
