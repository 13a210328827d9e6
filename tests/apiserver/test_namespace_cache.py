"""The namespace check on create is cached, and no create outlives its namespace:
not right after a delete, not one racing the delete, not one on another server
whose cache still says "exists"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from kcrypt import storage
from kcrypt.apiserver import TokenAuthenticator, create_app
from kcrypt.datastore import Datastore
from kcrypt.storage import ObjectStore, StorageMetrics, TransformerRegistry

from ._support import TOKEN, assert_status, secret

TEAM = "/api/v1/namespaces/team"


async def _names(store: ObjectStore, namespace: str) -> list[str]:
    listed = await store.list("secrets", namespace=namespace)
    return [o["metadata"]["name"] for o in listed.items]


async def test_a_create_in_a_namespace_being_deleted_is_forbidden_then_not_found(
    client: httpx.AsyncClient, store: ObjectStore, app: Any
) -> None:
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    r = await client.post(f"{TEAM}/secrets", json=secret("a", namespace="team", k="v"))
    assert r.status_code == 201  # "team exists" is now remembered
    assert (await client.delete(TEAM)).status_code == 200
    r = await client.post(f"{TEAM}/secrets", json=secret("b", namespace="team", k="v"))
    assert_status(r.json(), code=403, reason="Forbidden")
    assert r.json()["message"] == (
        'secrets "b" is forbidden: unable to create new content in namespace team because it '
        "is being terminated"
    )
    assert r.json()["details"]["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": "namespace team is being terminated",
            "field": "metadata.namespace",
        }
    ]
    await app.state.namespaces.settle()
    r = await client.post(f"{TEAM}/secrets", json=secret("c", namespace="team", k="v"))
    assert_status(r.json(), code=404, reason="NotFound")
    assert r.json()["message"] == 'namespaces "team" not found'
    assert await _names(store, "team") == []
    # created again: creates work again at once
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    r = await client.post(f"{TEAM}/secrets", json=secret("d", namespace="team", k="v"))
    assert r.status_code == 201


async def test_a_create_that_passed_its_check_before_the_deletion_fails_at_the_write(
    store: ObjectStore,
) -> None:
    await store.create(
        "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    )
    await store.namespaces.require("team", resource="secrets", name="late")  # passed ...
    await store.delete("namespaces", "team")  # ... then the deletion began
    with pytest.raises(storage.Forbidden, match="is being terminated"):
        await store.create("secrets", secret("late", namespace="team", k="v"))
    with pytest.raises(storage.Forbidden):
        await store.namespaces.require("team", resource="secrets", name="late")
    assert await _names(store, "team") == []


async def test_creates_racing_a_namespace_deletion_do_not_survive_it(
    client: httpx.AsyncClient, store: ObjectStore, app: Any
) -> None:
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})

    async def create(i: int) -> int:
        body = secret(f"s{i}", namespace="team", k="v")
        return (await client.post(f"{TEAM}/secrets", json=body)).status_code

    creates = [asyncio.create_task(create(i)) for i in range(40)]
    await asyncio.sleep(0)
    deleted = await client.delete(TEAM)
    codes = await asyncio.gather(*creates)
    await app.state.namespaces.settle()
    assert deleted.status_code == 200
    assert set(codes) <= {201, 403, 404}
    assert await _names(store, "team") == []


@pytest.fixture
async def other_server(
    datastore: Datastore, registry: TransformerRegistry
) -> AsyncIterator[tuple[ObjectStore, httpx.AsyncClient]]:
    """A second API server on the same datastore (HA on etcd), with its own cache."""
    other = ObjectStore(datastore, registry, metrics=StorageMetrics(CollectorRegistry()))
    app = create_app(store=other, token_check=TokenAuthenticator(TOKEN))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://other.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        yield other, c


async def test_a_create_on_a_server_with_a_stale_cache_is_swept(
    client: httpx.AsyncClient,
    store: ObjectStore,
    app: Any,
    other_server: tuple[ObjectStore, httpx.AsyncClient],
) -> None:
    other_store, other = other_server
    store.namespaces.ttl = other_store.namespaces.ttl = 0.2  # keep the test short
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})
    r = await other.post(f"{TEAM}/secrets", json=secret("a", namespace="team", k="v"))
    assert r.status_code == 201  # the other server now remembers "team exists"
    assert (await client.delete(TEAM)).status_code == 200
    # within its TTL the other server still believes in the namespace ...
    r = await other.post(f"{TEAM}/secrets", json=secret("stale", namespace="team", k="v"))
    assert r.status_code == 201
    # ... and the deleting server's sweeps (the last one a TTL after) remove it
    await app.state.namespaces.settle(sweeps=True)
    assert await _names(store, "team") == []
    # after the TTL the other server reads the truth
    await asyncio.sleep(0.25)
    r = await other.post(f"{TEAM}/secrets", json=secret("b", namespace="team", k="v"))
    assert r.status_code == 404
