"""Discovery documents kubectl reads, and the bearer-token gate in front of everything."""

from __future__ import annotations

import httpx
import pytest

from kcrypt.apiserver import TokenAuthenticator

from ._support import SECRETS, TOKEN, assert_status


async def test_api_and_apis(client: httpx.AsyncClient) -> None:
    api = (await client.get("/api")).json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    apis = (await client.get("/apis")).json()
    assert apis == {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}


async def test_core_v1_resource_list(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1")).json()
    assert body["kind"] == "APIResourceList" and body["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in body["resources"]}
    assert set(by_name) == {"secrets", "configmaps", "namespaces"}
    assert by_name["secrets"]["namespaced"] is True and by_name["secrets"]["kind"] == "Secret"
    assert by_name["configmaps"]["shortNames"] == ["cm"]
    assert by_name["namespaces"]["shortNames"] == ["ns"]
    assert by_name["namespaces"]["namespaced"] is False
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(
        by_name["secrets"]["verbs"]
    )


async def test_version_says_1_32_for_the_kubectl_dispatcher(client: httpx.AsyncClient) -> None:
    body = (await client.get("/version?timeout=5s")).json()
    assert body["major"] == "1" and body["minor"] == "32"
    assert body["gitVersion"].startswith("v1.32.")


async def test_openapi_v2_is_an_empty_protobuf_document_and_v3_is_absent(
    client: httpx.AsyncClient,
) -> None:
    v2 = await client.get(
        "/openapi/v2?timeout=32s",
        headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
    )
    assert v2.status_code == 200 and v2.content == b""
    assert v2.headers["content-type"] == (
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    )
    v3 = await client.get("/openapi/v3")
    assert v3.status_code == 404
    assert_status(v3.json(), code=404, reason="NotFound")


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
