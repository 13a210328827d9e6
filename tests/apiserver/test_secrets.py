"""Secrets over HTTP: create (JSON and protobuf), get, list, replace, delete, errors."""

from __future__ import annotations

import base64
import json

import httpx

from kcrypt import codec
from kcrypt.datastore import Datastore

from ._support import AESCBC_PREFIX, SECRETS, assert_status, b64, secret

KEY = "/registry/secrets/default/s1"


async def test_create_returns_201_and_stores_encrypted(
    client: httpx.AsyncClient, datastore: Datastore
) -> None:
    r = await client.post(
        f"{SECRETS}?fieldManager=kubectl-create&fieldValidation=Strict",
        json=secret("s1", password="hunter2"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "Secret" and body["type"] == "Opaque"
    assert body["metadata"]["uid"] and body["metadata"]["resourceVersion"]
    kv = await datastore.get(KEY)
    assert kv is not None and kv.value.startswith(AESCBC_PREFIX)
    assert b"hunter2" not in kv.value


async def test_string_data_is_folded_into_data(client: httpx.AsyncClient) -> None:
    obj = secret("s1", a="from-data", b="kept")
    obj["stringData"] = {"a": "from-stringData", "c": "new"}
    body = (await client.post(SECRETS, json=obj)).json()
    assert "stringData" not in body
    assert {k: base64.b64decode(v).decode() for k, v in body["data"].items()} == {
        "a": "from-stringData",
        "b": "kept",
        "c": "new",
    }


async def test_protobuf_request_body_as_kubectl_1_32_sends(client: httpx.AsyncClient) -> None:
    wire = codec.encode_storage(secret("s1", a="b"))
    assert wire.startswith(b"k8s\x00")
    r = await client.post(
        f"{SECRETS}?fieldManager=kubectl-create&fieldValidation=Strict",
        content=wire,
        headers={
            "Content-Type": "application/vnd.kubernetes.protobuf",
            "Accept": "application/vnd.kubernetes.protobuf,application/json",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["data"] == {"a": b64("b")}


async def test_protobuf_response_only_when_protobuf_is_all_the_client_accepts(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1", a="b"))
    r = await client.get(f"{SECRETS}/s1", headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert r.headers["content-type"] == "application/vnd.kubernetes.protobuf"
    decoded = codec.decode_storage(r.content)
    assert decoded["metadata"]["name"] == "s1" and decoded["data"] == {"a": b64("b")}
    listed = await client.get(SECRETS, headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert listed.content.startswith(b"k8s\x00")


async def test_get_list_and_cluster_wide_list(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    await client.post("/api/v1/namespaces/team/secrets", json=secret("s2", namespace="team", a="2"))
    one = (await client.get(f"{SECRETS}/s1")).json()
    assert one["data"] == {"a": b64("1")}
    listed = (await client.get(SECRETS)).json()
    assert listed["kind"] == "SecretList" and listed["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["s1"]
    everywhere = (await client.get("/api/v1/secrets?limit=500")).json()
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]} == {
        ("default", "s1"),
        ("team", "s2"),
    }
    assert int(everywhere["metadata"]["resourceVersion"]) >= int(one["metadata"]["resourceVersion"])


async def test_list_paging_with_limit_and_continue(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post(SECRETS, json=secret(f"s{i}"))
    first = (await client.get(SECRETS, params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["metadata"]["continue"]
    rest = (
        await client.get(SECRETS, params={"limit": 2, "continue": first["metadata"]["continue"]})
    ).json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["s2"]
    assert "continue" not in rest["metadata"]


async def test_label_and_field_selectors_over_http(client: httpx.AsyncClient) -> None:
    for name, app in (("a", "web"), ("b", "db")):
        obj = secret(name)
        obj["metadata"]["labels"] = {"app": app}
        await client.post(SECRETS, json=obj)
    r = await client.get(SECRETS, params={"labelSelector": "app in (db)"})
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["b"]
    r = await client.get("/api/v1/secrets", params={"fieldSelector": "metadata.name=a"})
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["a"]
    bad = await client.get(SECRETS, params={"fieldSelector": "spec.x=1"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "field label not supported: spec.x"


async def test_replace_with_an_old_resource_version_is_a_409_conflict(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="1"))).json()
    changed = dict(created, data={"a": b64("2")})
    assert (await client.put(f"{SECRETS}/s1", json=changed)).status_code == 200
    r = await client.put(f"{SECRETS}/s1", json=changed)
    assert r.status_code == 409
    body = r.json()
    assert_status(body, code=409, reason="Conflict")
    assert body["message"] == (
        'Operation cannot be fulfilled on secrets "s1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert body["details"] == {"name": "s1", "kind": "secrets"}


async def test_replace_without_resource_version_is_unconditional(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    r = await client.put(f"{SECRETS}/s1", json=secret("s1", a="2"))
    assert r.status_code == 200 and r.json()["data"] == {"a": b64("2")}


async def test_replace_of_a_missing_secret_is_not_found(client: httpx.AsyncClient) -> None:
    r = await client.put(f"{SECRETS}/nope", json=secret("nope"))
    assert r.status_code == 404
    assert r.json()["message"] == 'secrets "nope" not found'


async def test_replace_name_must_match_the_url(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1"))
    r = await client.put(f"{SECRETS}/s1", json=secret("other"))
    assert r.status_code == 400
    assert r.json()["message"] == (
        "the name of the object (other) does not match the name on the URL (s1)"
    )


async def test_delete_then_get_is_404_as_kubectl_wait_needs(client: httpx.AsyncClient) -> None:
    created = (await client.post(SECRETS, json=secret("s1"))).json()
    r = await client.request(
        "DELETE",
        f"{SECRETS}/s1",
        content=json.dumps({"propagationPolicy": "Background"}),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200
    assert r.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "s1", "kind": "secrets", "uid": created["metadata"]["uid"]},
    }
    gone = await client.get(f"{SECRETS}/s1")
    assert gone.status_code == 404
    assert_status(gone.json(), code=404, reason="NotFound")
    assert gone.json()["details"] == {"name": "s1", "kind": "secrets"}


async def test_delete_with_a_wrong_uid_precondition_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1"))
    r = await client.request(
        "DELETE", f"{SECRETS}/s1", json={"preconditions": {"uid": "not-the-uid"}}
    )
    assert r.status_code == 409
    assert "Precondition failed: UID in precondition: not-the-uid" in r.json()["message"]


async def test_create_twice_is_409_already_exists(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1"))
    r = await client.post(SECRETS, json=secret("s1"))
    assert r.status_code == 409
    assert_status(r.json(), code=409, reason="AlreadyExists")
    assert r.json()["message"] == 'secrets "s1" already exists'


async def test_create_in_a_missing_namespace(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/namespaces/nope/secrets", json=secret("s1", namespace="nope"))
    assert r.status_code == 404
    assert r.json()["message"] == 'namespaces "nope" not found'


async def test_body_namespace_must_match_the_url(client: httpx.AsyncClient) -> None:
    r = await client.post(SECRETS, json=secret("s1", namespace="kube-system"))
    assert r.status_code == 400
    assert r.json()["message"] == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )


async def test_generate_name(client: httpx.AsyncClient) -> None:
    obj = secret("x")
    obj["metadata"] = {"generateName": "token-"}
    r = await client.post(SECRETS, json=obj)
    assert r.status_code == 201
    assert r.json()["metadata"]["name"].startswith("token-")


async def test_dry_run_create_is_not_stored(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{SECRETS}?dryRun=All", json=secret("s1"))
    assert r.status_code == 201
    assert (await client.get(f"{SECRETS}/s1")).status_code == 404


async def test_immutable_secret_data_cannot_change(client: httpx.AsyncClient) -> None:
    obj = secret("s1", a="1")
    obj["immutable"] = True
    created = (await client.post(SECRETS, json=obj)).json()
    changed = dict(created, data={"a": b64("2")})
    r = await client.put(f"{SECRETS}/s1", json=changed)
    assert r.status_code == 422
    body = r.json()
    assert_status(body, code=422, reason="Invalid")
    assert body["message"] == (
        'Secret "s1" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: field is immutable when `immutable` is set",
            "field": "data",
        }
    ]
    labels_only = dict(created)
    labels_only["metadata"] = dict(created["metadata"], labels={"ok": "yes"})
    assert (await client.put(f"{SECRETS}/s1", json=labels_only)).status_code == 200


async def test_secret_type_is_immutable(client: httpx.AsyncClient) -> None:
    created = (await client.post(SECRETS, json=secret("s1"))).json()
    changed = dict(created, type="example.com/other")
    r = await client.put(f"{SECRETS}/s1", json=changed)
    assert r.status_code == 422
    assert r.json()["message"] == (
        'Secret "s1" is invalid: type: Invalid value: "example.com/other": field is immutable'
    )


async def test_replace_all_re_encrypts_after_a_key_rotation(
    client: httpx.AsyncClient, datastore: Datastore, registry: object
) -> None:
    """The documented `kubectl get secrets -A -o json | kubectl replace -f -` step."""
    from kcrypt.config import build_transformers, dump_json, generate, load

    old_doc = json.loads(dump_json(generate("aescbc", key_name="aescbckey")))
    registry.swap(build_transformers(load(json.dumps(old_doc).encode()).config))  # type: ignore[attr-defined]
    for i in range(3):
        await client.post(SECRETS, json=secret(f"s{i}", v=str(i)))
    # The rotation step: a new key first, the old key second to keep reading.
    new_key = json.loads(dump_json(generate("aescbc", key_name="newkey")))
    keys = old_doc["resources"][0]["providers"][0]["aescbc"]["keys"]
    keys.insert(0, new_key["resources"][0]["providers"][0]["aescbc"]["keys"][0])
    registry.swap(build_transformers(load(json.dumps(old_doc).encode()).config))  # type: ignore[attr-defined]

    listing = (await client.get("/api/v1/secrets?limit=500")).json()
    for item in listing["items"]:
        path = (
            f"/api/v1/namespaces/{item['metadata']['namespace']}/secrets/{item['metadata']['name']}"
        )
        r = await client.put(
            f"{path}?fieldManager=kubectl-replace&fieldValidation=Strict", json=item
        )
        assert r.status_code == 200, r.text
        assert r.json()["metadata"]["resourceVersion"] != item["metadata"]["resourceVersion"]
        assert r.json()["data"] == item["data"]
    for i in range(3):
        kv = await datastore.get(f"/registry/secrets/default/s{i}")
        assert kv is not None and kv.value.startswith(b"k8s:enc:aescbc:v1:newkey:")
    # A second pass finds nothing stale: nothing is written, resourceVersions stay.
    listing = (await client.get("/api/v1/secrets?limit=500")).json()
    for item in listing["items"]:
        path = f"/api/v1/namespaces/default/secrets/{item['metadata']['name']}"
        r = await client.put(path, json=item)
        assert r.json()["metadata"]["resourceVersion"] == item["metadata"]["resourceVersion"]
