"""Events, access reviews, the empty services and paging counts over HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from kcrypt import codec

from ._support import CONFIGMAPS, SECRETS, assert_status, configmap, secret

EVENTS = "/api/v1/namespaces/default/events"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def event(name: str, *, about: str, reason: str = "Tested") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": "ConfigMap", "name": about, "namespace": "default"},
        "reason": reason,
        "message": f"something about {about}",
        "type": "Normal",
        "source": {"component": "tester"},
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1,
    }


async def test_events_are_listed_by_the_fields_kubectl_describe_selects_on(
    client: httpx.AsyncClient,
) -> None:
    for name, about in (("e1", "cm1"), ("e2", "cm2")):
        assert (await client.post(EVENTS, json=event(name, about=about))).status_code == 201
    selector = (
        "involvedObject.kind=ConfigMap,involvedObject.name=cm1,involvedObject.namespace=default"
    )
    r = await client.get(EVENTS, params={"fieldSelector": selector, "limit": "500"})
    assert [e["metadata"]["name"] for e in r.json()["items"]] == ["e1"]
    by_source = await client.get("/api/v1/events", params={"fieldSelector": "source=tester"})
    assert len(by_source.json()["items"]) == 2
    table = (await client.get(EVENTS, headers={"Accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]][:7] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
    ]
    assert table["rows"][0]["cells"][1:4] == ["Normal", "Tested", "configmap/cm1"]


async def test_an_event_whose_namespace_disagrees_with_its_object_is_invalid(
    client: httpx.AsyncClient,
) -> None:
    bad = event("e1", about="cm1")
    bad["involvedObject"]["namespace"] = "elsewhere"
    r = await client.post(EVENTS, json=bad)
    assert_status(r.json(), code=422, reason="Invalid")
    assert r.json()["message"] == (
        'Event "e1" is invalid: involvedObject.namespace: Invalid value: "elsewhere": does not '
        "match event.namespace"
    )


def review(kind: str, group: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": f"{group}/v1", "kind": kind}
    if spec is not None:
        body["spec"] = spec
    return body


async def test_access_reviews_say_the_admin_may_do_everything(client: httpx.AsyncClient) -> None:
    ssar = review(
        "SelfSubjectAccessReview",
        "authorization.k8s.io",
        {"resourceAttributes": {"verb": "create", "resource": "secrets", "namespace": "default"}},
    )
    r = await client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        content=codec.encode_protobuf_response(ssar),  # kubectl 1.32 sends protobuf
        headers={"Content-Type": codec.PROTOBUF_MEDIA_TYPE},
    )
    assert r.status_code == 201
    assert r.json()["status"]["allowed"] is True
    assert r.json()["spec"] == ssar["spec"]
    empty = await client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        json=review("SelfSubjectAccessReview", "authorization.k8s.io", {}),
    )
    assert_status(empty.json(), code=422, reason="Invalid")
    assert empty.json()["message"].endswith(
        "exactly one of nonResourceAttributes or resourceAttributes must be specified"
    )
    rules = await client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        json=review("SelfSubjectRulesReview", "authorization.k8s.io", {"namespace": "default"}),
    )
    assert rules.json()["status"] == {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    }
    who = await client.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        json=review("SelfSubjectReview", "authentication.k8s.io"),
    )
    assert who.json()["status"]["userInfo"] == {
        "username": "system:admin",
        "groups": ["system:masters", "system:authenticated"],
    }
    assert (
        await client.get("/apis/authentication.k8s.io/v1/selfsubjectreviews")
    ).status_code == 405


async def test_services_exist_and_are_always_empty(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/namespaces/kube-system/services",
        params={"labelSelector": "kubernetes.io/cluster-service=true"},
    )
    assert r.json()["kind"] == "ServiceList" and r.json()["items"] == []
    table = (await client.get("/api/v1/services", headers={"Accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]][:6] == [
        "Name",
        "Type",
        "Cluster-IP",
        "External-IP",
        "Port(s)",
        "Age",
    ]
    r = await client.get("/api/v1/namespaces/default/services/kubernetes")
    assert_status(r.json(), code=404, reason="NotFound")
    assert r.json()["message"] == 'services "kubernetes" not found'
    assert (await client.post("/api/v1/namespaces/default/services", json={})).status_code == 405


async def test_paged_lists_count_what_remains_and_an_expired_token_carries_a_fresh_one(
    client: httpx.AsyncClient, store: Any
) -> None:
    for i in range(5):
        await client.post(CONFIGMAPS, json=configmap(f"c{i}"))
    first = (await client.get(CONFIGMAPS, params={"limit": "2"})).json()["metadata"]
    assert first["remainingItemCount"] == 3
    assert (await client.get(CONFIGMAPS, params={"limit": "2", "labelSelector": "x!=y"})).json()[
        "metadata"
    ].get("remainingItemCount") is None
    await client.post(CONFIGMAPS, json=configmap("c9"))
    await store.datastore.compact(await store.datastore.revision())
    r = await client.get(CONFIGMAPS, params={"limit": "2", "continue": first["continue"]})
    assert_status(r.json(), code=410, reason="Expired")
    token = r.json()["metadata"]["continue"]
    raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert raw["rv"] == -1
    rest = (await client.get(CONFIGMAPS, params={"limit": "10", "continue": token})).json()
    assert [c["metadata"]["name"] for c in rest["items"]] == ["c2", "c3", "c4", "c9"]


@pytest.mark.parametrize("path", [SECRETS])
async def test_a_list_at_a_future_resource_version_is_504(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path, params={"resourceVersion": "999999999"})
    assert_status(r.json(), code=504, reason="Timeout")
    assert r.json()["message"].startswith(
        "Timeout: Too large resource version: 999999999, current: "
    )
    assert r.json()["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
    assert (await client.post(path, json=secret("ok"))).status_code == 201
