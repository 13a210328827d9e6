"""PATCH with the three patch types kubectl and clients send."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from kcrypt.apiserver.patch import apply_json_patch, merge_patch, strategic_merge_patch

from ._support import SECRETS, assert_status, b64, secret

SMP = {"Content-Type": "application/strategic-merge-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
JSONPATCH = {"Content-Type": "application/json-patch+json"}


def decoded(obj: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


async def patch(client: httpx.AsyncClient, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.patch(
        f"{SECRETS}/s1?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
        content=json.dumps(body),
        headers=headers,
    )


async def test_kubectl_apply_strategic_merge_patch_with_string_data(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1", user="admin", keep="x"))
    body = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"a":1}\n'}
        },
        "stringData": {"user": "root"},
    }
    r = await patch(client, body, SMP)
    assert r.status_code == 200, r.text
    out = r.json()
    assert decoded(out) == {"user": "root", "keep": "x"}
    assert "stringData" not in out
    assert out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]


async def test_strategic_merge_directives(client: httpx.AsyncClient) -> None:
    obj = secret("s1", a="1", b="2")
    obj["metadata"]["labels"] = {"x": "1", "y": "2", "z": "3"}
    await client.post(SECRETS, json=obj)
    r = await patch(client, {"data": {"$patch": "replace", "c": b64("3")}}, SMP)
    assert decoded(r.json()) == {"c": "3"}
    r = await patch(client, {"metadata": {"labels": {"$retainKeys": ["x"], "w": "4"}}}, SMP)
    assert r.json()["metadata"]["labels"] == {"x": "1", "w": "4"}
    r = await patch(client, {"metadata": {"labels": {"$patch": "delete"}}}, SMP)
    assert "labels" not in r.json()["metadata"]


async def test_merge_patch_null_removes_a_key(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1", a="1", b="2"))
    r = await patch(client, {"data": {"a": None, "c": b64("3")}}, MERGE)
    assert r.status_code == 200
    assert decoded(r.json()) == {"b": "2", "c": "3"}


async def test_json_patch_operations(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    ops = [
        {"op": "test", "path": "/metadata/name", "value": "s1"},
        {"op": "add", "path": "/data/b", "value": b64("2")},
        {"op": "replace", "path": "/data/a", "value": b64("one")},
        {"op": "copy", "from": "/data/b", "path": "/data/c"},
        {"op": "remove", "path": "/data/b"},
        {"op": "add", "path": "/metadata/labels", "value": {"k": "v"}},
    ]
    r = await patch(client, ops, JSONPATCH)
    assert r.status_code == 200, r.text
    assert decoded(r.json()) == {"a": "one", "c": "2"}
    assert r.json()["metadata"]["labels"] == {"k": "v"}


async def test_failed_json_patch_test_is_422(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1"))
    r = await patch(client, [{"op": "test", "path": "/type", "value": "other"}], JSONPATCH)
    assert r.status_code == 422
    assert_status(r.json(), code=422, reason="Invalid")
    r = await patch(client, [{"op": "remove", "path": "/data/missing"}], JSONPATCH)
    assert r.status_code == 422


async def test_patch_with_a_stale_resource_version_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="1"))).json()
    await patch(client, {"data": {"a": b64("2")}}, MERGE)
    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "data": {}}
    r = await patch(client, stale, MERGE)
    assert r.status_code == 409
    assert_status(r.json(), code=409, reason="Conflict")


async def test_patch_edge_cases(client: httpx.AsyncClient) -> None:
    r = await patch(client, {"data": {}}, MERGE)
    assert r.status_code == 404
    await client.post(SECRETS, json=secret("s1"))
    r = await patch(client, {"data": {}}, {"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await client.patch(f"{SECRETS}/s1", content=b"{bad", headers=MERGE)
    assert r.status_code == 400
    r = await patch(client, {"spec": {"x": 1}}, MERGE)
    assert r.status_code == 400
    assert r.json()["message"] == 'strict decoding error: unknown field "spec"'
    r = await patch(client, {"data": {"bad key": b64("x")}}, MERGE)
    assert r.status_code == 422


async def test_patch_that_changes_nothing_keeps_the_resource_version(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="1"))).json()
    r = await patch(client, {"data": {"a": b64("1")}}, SMP)
    assert r.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


@pytest.mark.parametrize(
    ("target", "patch_doc", "expected"),
    [
        ({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}, {"a": 1, "b": {"d": 3}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": 1}, {"a": {"b": None}}, {"a": {}}),
    ],
)
def test_merge_patch_rfc7386_examples(target: Any, patch_doc: Any, expected: Any) -> None:
    assert merge_patch(target, patch_doc) == expected


def test_strategic_merge_finalizers_merge_as_a_set_and_owner_refs_by_uid() -> None:
    current = {
        "metadata": {
            "finalizers": ["a"],
            "ownerReferences": [{"uid": "1", "name": "x"}, {"uid": "2", "name": "y"}],
        }
    }
    patch_doc = {
        "metadata": {
            "finalizers": ["a", "b"],
            "ownerReferences": [{"uid": "1", "name": "renamed"}, {"uid": "2", "$patch": "delete"}],
            "$deleteFromPrimitiveList/finalizers": ["a"],
        }
    }
    out = strategic_merge_patch(current, patch_doc)
    assert out["metadata"]["finalizers"] == ["b"]
    assert out["metadata"]["ownerReferences"] == [{"uid": "1", "name": "renamed"}]


def test_json_patch_move_and_array_append() -> None:
    doc = {"a": {"b": 1}, "l": [1]}
    out = apply_json_patch(
        doc,
        [{"op": "move", "from": "/a/b", "path": "/c"}, {"op": "add", "path": "/l/-", "value": 2}],
    )
    assert out == {"a": {}, "c": 1, "l": [1, 2]}
    assert doc == {"a": {"b": 1}, "l": [1]}
