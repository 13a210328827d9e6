"""Server-side Tables for `kubectl get`, and namespaces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kcrypt.apiserver import ensure_default_namespaces
from kcrypt.apiserver.table import human_duration
from kcrypt.datastore import Datastore
from kcrypt.storage import ObjectStore

from ._support import CONFIGMAPS, SECRETS, assert_status, configmap, secret

TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


async def test_secret_table_has_kubectl_columns_and_partial_metadata_rows(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1", a="1", b="2"))
    r = await client.get("/api/v1/secrets?limit=500", headers={"Accept": TABLE})
    body = r.json()
    assert body["kind"] == "Table" and body["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    (row,) = body["rows"]
    name, type_, data, age = row["cells"]
    assert (name, type_, data) == ("s1", "Opaque", 2)
    assert age.endswith("s")
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["namespace"] == "default"
    assert body["metadata"]["resourceVersion"]


async def test_configmap_and_namespace_tables(client: httpx.AsyncClient) -> None:
    await client.post(CONFIGMAPS, json=configmap("c", a="1"))
    body = (await client.get(CONFIGMAPS, headers={"Accept": TABLE})).json()
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert body["rows"][0]["cells"][:2] == ["c", 1]
    body = (await client.get("/api/v1/namespaces", headers={"Accept": TABLE})).json()
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert {tuple(r["cells"][:2]) for r in body["rows"]} == {
        ("default", "Active"),
        ("kube-public", "Active"),
        ("kube-system", "Active"),
    }


async def test_include_object_and_single_object_tables(client: httpx.AsyncClient) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    body = (
        await client.get(f"{SECRETS}/s1?includeObject=Object", headers={"Accept": TABLE})
    ).json()
    assert body["rows"][0]["object"]["kind"] == "Secret"
    body = (await client.get(f"{SECRETS}?includeObject=None", headers={"Accept": TABLE})).json()
    assert "object" not in body["rows"][0]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (50 * 3600, "2d2h"),
        (400 * 86400, "400d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_age_is_apimachinery_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


async def test_namespace_create_defaults(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    assert r.status_code == 201
    ns = r.json()
    assert ns["status"] == {"phase": "Active"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    bad = await client.post("/api/v1/namespaces", json={"metadata": {"name": "a.b"}})
    assert bad.status_code == 422
    assert bad.json()["details"]["causes"][0]["message"] == (
        'Invalid value: "a.b": must not contain dots'
    )


async def test_namespace_delete_removes_its_objects(
    client: httpx.AsyncClient, datastore: Datastore, app: Any
) -> None:
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    await client.post("/api/v1/namespaces/team/secrets", json=secret("s", namespace="team"))
    await client.post("/api/v1/namespaces/team/configmaps", json=configmap("c", namespace="team"))
    r = await client.delete("/api/v1/namespaces/team")
    assert r.status_code == 200
    assert r.json()["kind"] == "Namespace" and r.json()["status"]["phase"] == "Terminating"
    await app.state.namespaces.settle()
    assert (await client.get("/api/v1/namespaces/team")).status_code == 404
    page = await datastore.range("/registry/secrets/team/")
    assert page.kvs == ()
    page = await datastore.range("/registry/configmaps/team/")
    assert page.kvs == ()


async def test_default_namespaces_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    r = await client.delete("/api/v1/namespaces/default")
    assert r.status_code == 403
    assert_status(r.json(), code=403, reason="Forbidden")
    assert r.json()["message"] == (
        'namespaces "default" is forbidden: this namespace may not be deleted'
    )


async def test_ensure_default_namespaces_is_idempotent(store: ObjectStore) -> None:
    await ensure_default_namespaces(store)
    names = [o["metadata"]["name"] for o in (await store.list("namespaces")).items]
    assert names == ["default", "kube-public", "kube-system"]


async def test_namespace_update_keeps_status_and_spec(client: httpx.AsyncClient) -> None:
    ns = (await client.get("/api/v1/namespaces/default")).json()
    ns["status"] = {"phase": "Terminating"}
    ns["metadata"]["labels"]["team"] = "a"
    r = await client.put("/api/v1/namespaces/default", json=ns)
    assert r.status_code == 200
    assert r.json()["status"] == {"phase": "Active"}
    assert r.json()["metadata"]["labels"]["team"] == "a"
