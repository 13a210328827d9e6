"""Server-side apply and managedFields over HTTP, as kubectl and client-go send them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ._support import SECRETS, assert_status, b64, secret

APPLY = {"Content-Type": "application/apply-patch+yaml"}


async def apply(
    client: httpx.AsyncClient,
    body: Any,
    manager: str | None,
    *,
    force: bool = False,
    name: str = "s1",
) -> httpx.Response:
    params = {"fieldManager": manager} if manager else {}
    if force:
        params["force"] = "true"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.patch(f"{SECRETS}/{name}", content=content, headers=APPLY, params=params)


async def test_apply_creates_with_201_and_records_an_apply_entry(client: httpx.AsyncClient) -> None:
    yaml_body = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\nstringData:\n  user: alice\n"
    r = await apply(client, yaml_body, "kubectl")
    assert r.status_code == 201
    obj = r.json()
    assert obj["data"] == {"user": b64("alice")} and "stringData" not in obj
    (entry,) = obj["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
    }
    assert entry["fieldsV1"] == {"f:data": {"f:user": {}}}
    again = await apply(client, yaml_body, "kubectl")
    assert again.status_code == 200
    assert again.json()["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


async def test_a_conflict_is_409_with_upstreams_message_and_force_takes_over(
    client: httpx.AsyncClient,
) -> None:
    await apply(client, secret("s1", a="1"), "first")
    r = await apply(client, secret("s1", a="2"), "second")
    assert_status(r.json(), code=409, reason="Conflict")
    assert r.json()["message"] == 'Apply failed with 1 conflict: conflict with "first": .data.a'
    assert r.json()["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "first"',
                "field": ".data.a",
            }
        ]
    }
    forced = await apply(client, secret("s1", a="2"), "second", force=True)
    assert forced.status_code == 200 and forced.json()["data"]["a"] == b64("2")
    assert [m["manager"] for m in forced.json()["metadata"]["managedFields"]] == ["second"]


async def test_an_update_after_create_is_recorded_and_conflicts_name_the_version(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(f"{SECRETS}?fieldManager=kubectl-create", json=secret("s1", a="1"))
    (entry,) = created.json()["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("kubectl-create", "Update")
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}, "f:type": {}}
    r = await apply(client, secret("s1", a="9"), "kubectl")
    assert r.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.a'
    )


async def test_without_field_manager_the_user_agent_names_the_manager(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        SECRETS, json=secret("s1", a="1"), headers={"User-Agent": "OpenAPI-Generator/37.0.2/python"}
    )
    assert r.json()["metadata"]["managedFields"][0]["manager"] == "OpenAPI-Generator"


async def test_apply_option_and_body_errors(client: httpx.AsyncClient) -> None:
    r = await apply(client, secret("s1", a="1"), None)
    assert_status(r.json(), code=422, reason="Invalid")
    assert r.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for '
        "apply patch"
    )
    r = await client.patch(
        f"{SECRETS}/s1?force=true",
        content=b"{}",
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for '
        "non-apply patch"
    )
    with_mf = secret("s1", a="1")
    with_mf["metadata"]["managedFields"] = []
    r = await apply(client, with_mf, "m")
    assert (r.status_code, r.json()["message"]) == (400, "metadata.managedFields must be nil")
    wrong = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s1"}}
    r = await apply(client, wrong, "m")
    assert r.json()["message"] == "invalid object type: /v1, Kind=ConfigMap"
    r = await apply(client, {**secret("s1"), "bogus": 1}, "m")
    assert r.json()["message"] == (
        "failed to create typed patch object (/v1, Kind=Secret): .bogus: field not declared "
        "in schema"
    )
    r = await apply(client, secret("other", a="1"), "m")  # URL names s1
    assert r.json()["message"] == (
        "the name of the object (other) does not match the name on the URL (s1)"
    )
    assert (await client.get(f"{SECRETS}/s1")).status_code == 404


async def test_a_managed_fields_reset_through_a_json_patch(client: httpx.AsyncClient) -> None:
    await client.post(f"{SECRETS}?fieldManager=creator", json=secret("s1", a="1"))
    r = await client.patch(
        f"{SECRETS}/s1?fieldManager=resetter",
        content=json.dumps(
            [
                {"op": "replace", "path": "/metadata/managedFields", "value": [{}]},
                {"op": "add", "path": "/data/b", "value": b64("2")},
            ]
        ),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert [m["manager"] for m in r.json()["metadata"]["managedFields"]] == ["resetter"]


async def test_dry_run_apply_creates_nothing(client: httpx.AsyncClient) -> None:
    r = await client.patch(
        f"{SECRETS}/s1?fieldManager=m&dryRun=All",
        content=json.dumps(secret("s1", a="1")),
        headers=APPLY,
    )
    assert r.status_code == 201
    assert (await client.get(f"{SECRETS}/s1")).status_code == 404
