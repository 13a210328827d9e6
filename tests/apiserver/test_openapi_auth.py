"""OpenAPI documents as kubectl reads them; auth on every transport; quiet refusal logs."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from kcrypt.apiserver.auth import RefusalLog
from kcrypt.apiserver.openapi.proto import openapiv2_pb2
from kcrypt.apiserver.openapi.schemas import gvk

from ._support import TOKEN

V2_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


async def test_v3_lists_api_v1_and_its_paths_carry_the_gvk_and_field_validation(
    client: httpx.AsyncClient,
) -> None:
    index = (await client.get("/openapi/v3")).json()
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1?hash=")
    r = await client.get(url, headers={"Accept": "application/json"})
    assert r.headers["cache-control"] == "public, immutable"
    doc = r.json()
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/secrets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "",
        "kind": "Secret",
        "version": "v1",
    }
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
    secret = doc["components"]["schemas"]["io.k8s.api.core.v1.Secret"]
    assert secret["x-kubernetes-group-version-kind"] == gvk("Secret")
    meta = doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    assert meta["properties"]["finalizers"]["x-kubernetes-list-type"] == "set"
    assert meta["properties"]["ownerReferences"]["x-kubernetes-list-map-keys"] == ["uid"]
    stale = await client.get("/openapi/v3/api/v1?hash=OLD", follow_redirects=False)
    assert stale.status_code == 301 and stale.headers["location"] == url
    assert (await client.get("/openapi/v3/apis/nothing/v1")).status_code == 404


async def test_v2_is_gnostic_protobuf_with_the_kinds_and_their_extensions(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/openapi/v2?timeout=32s", headers={"Accept": V2_ACCEPT})
    assert r.headers["content-type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    doc = openapiv2_pb2.Document()
    doc.ParseFromString(r.content)
    defs = {d.name: d.value for d in doc.definitions.additional_properties}
    secret = defs["io.k8s.api.core.v1.Secret"]
    ext = {e.name: e.value.yaml for e in secret.vendor_extension}
    assert "kind: Secret" in ext["x-kubernetes-group-version-kind"]
    props = {p.name: p.value for p in secret.properties.additional_properties}
    assert props["data"].additional_properties.schema.format == "byte"
    assert props["metadata"]._ref == (
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
    assert (await client.get("/openapi/v2")).status_code == 200


async def test_websocket_upgrades_need_the_token_too(app: Any) -> None:
    """A WebSocket handshake used to skip the bearer check entirely."""
    sent: list[dict[str, Any]] = []
    inbox = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/api/v1/namespaces/default/secrets",
        "raw_path": b"/api/v1/namespaces/default/secrets",
        "query_string": b"watch=true",
        "headers": [],
        "extensions": {"websocket.http.response": {}},
    }
    await app(scope, receive, send)
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 401
    sent.clear()
    inbox.append({"type": "websocket.connect"})
    await app({**scope, "extensions": {}}, receive, send)
    assert [m["type"] for m in sent] == ["websocket.close"]


async def test_refused_requests_are_logged_once_a_minute_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    refusals = RefusalLog(window=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="kcrypt.apiserver.auth"):
        for i in range(1000):
            now[0] = i * 0.05  # 1000 requests in 50 s
            refusals.refused("GET", "/api/v1/secrets")
        now[0] = 61.0
        refusals.refused("GET", "/x\n[fake] line")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "unauthenticated request: GET '/api/v1/secrets'",
        "unauthenticated request: GET '/x\\n[fake] line' (and 999 more in the previous 60 s)",
    ]


async def test_a_flood_of_bad_tokens_through_the_app_logs_one_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kcrypt.apiserver.auth"):
        for _ in range(50):
            r = await client.get("/api", headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401
    assert len([r for r in caplog.records if r.name == "kcrypt.apiserver.auth"]) == 1
    assert TOKEN not in caplog.text
