"""The GET read cache: a repeat read skips decrypt+render, but never the row read,
and nothing cached survives an update, a delete, an out-of-band write or a
transformer swap."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from kcrypt.config import build_transformers, dump_json, generate, load
from kcrypt.datastore import Datastore
from kcrypt.storage import (
    InternalError,
    NotFound,
    ObjectStore,
    StorageMetrics,
    TransformerRegistry,
)
from kcrypt.storage.readcache import ReadCache

from .test_store import secret


class Renders:
    """A render function that counts its calls and puts the resourceVersion in its output."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, obj: dict[str, Any]) -> bytes:
        self.calls += 1
        return json.dumps(obj, sort_keys=True).encode()


async def get(store: ObjectStore, render: Renders, name: str = "s1") -> dict[str, Any]:
    body = await store.get_rendered(
        "secrets", name, namespace="default", variant="json", render=render
    )
    out: dict[str, Any] = json.loads(body)
    return out


async def test_a_repeat_get_of_an_unchanged_object_is_rendered_once(store: ObjectStore) -> None:
    created = await store.create("secrets", secret(password="hunter2"))
    render = Renders()
    first = await get(store, render)
    second = await get(store, render)
    assert first == second
    assert first["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert render.calls == 1
    # another variant of the same object is rendered (and kept) on its own
    other = Renders()
    await store.get_rendered("secrets", "s1", namespace="default", variant="yaml", render=other)
    await store.get_rendered("secrets", "s1", namespace="default", variant="yaml", render=other)
    assert other.calls == 1
    assert await store.get("secrets", "s1", namespace="default") == first


async def test_update_through_the_store_is_seen_at_once(store: ObjectStore) -> None:
    await store.create("secrets", secret(password="old"))
    render = Renders()
    before = await get(store, render)
    updated = await store.update("secrets", secret(password="new"))
    after = await get(store, render)
    assert after["data"] != before["data"]
    assert after["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
    assert render.calls == 2


async def test_a_write_that_bypasses_this_store_is_seen_too(
    store: ObjectStore, datastore: Datastore, registry: TransformerRegistry
) -> None:
    """Another server, or the re-encryption job, writes straight to the datastore."""
    other = ObjectStore(datastore, registry, read_cache_entries=0)
    await store.create("secrets", secret(password="old"))
    render = Renders()
    await get(store, render)
    updated = await other.update("secrets", secret(password="new"))
    after = await get(store, render)
    assert after["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
    assert after["data"] == updated["data"]
    await other.delete("secrets", "s1", namespace="default")
    with pytest.raises(NotFound):
        await get(store, render)


async def test_delete_drops_the_entry_and_a_recreate_is_fresh(store: ObjectStore) -> None:
    await store.create("secrets", secret(password="first"))
    render = Renders()
    first = await get(store, render)
    await store.delete("secrets", "s1", namespace="default")
    assert len(store.read_cache) == 0
    with pytest.raises(NotFound):
        await get(store, render)
    await store.create("secrets", secret(password="second"))
    second = await get(store, render)
    assert second["data"] != first["data"]
    assert second["metadata"]["uid"] != first["metadata"]["uid"]


async def test_a_transformer_swap_drops_everything_cached(
    store: ObjectStore, registry: TransformerRegistry
) -> None:
    await store.create("secrets", secret(password="hunter2"))
    render = Renders()
    await get(store, render)
    assert len(store.read_cache) == 1
    registry.swap(build_transformers(generate("aescbc", key_name="unrelated")))
    assert len(store.read_cache) == 0 and store.read_cache.nbytes == 0
    # the key that wrote the value is gone: the read fails, no cached copy is served
    with pytest.raises(InternalError):
        await get(store, render)
    registry.swap(None)
    with pytest.raises(InternalError):
        await get(store, render)


async def test_key_rotation_re_reads_with_the_new_transformers(
    store: ObjectStore, registry: TransformerRegistry
) -> None:
    """A new key first, the old one second (the rotation step): still readable,
    decrypted again under the new set; after the old key is removed it is not."""
    old_doc = json.loads(dump_json(generate("aescbc", key_name="aescbckey")))
    registry.swap(build_transformers(load(json.dumps(old_doc).encode()).config))
    await store.create("secrets", secret(password="hunter2"))
    render = Renders()
    before = await get(store, render)
    new_doc = json.loads(dump_json(generate("aescbc", key_name="newkey")))
    new_key = new_doc["resources"][0]["providers"][0]["aescbc"]["keys"][0]
    old_doc["resources"][0]["providers"][0]["aescbc"]["keys"].insert(0, new_key)
    registry.swap(build_transformers(load(json.dumps(old_doc).encode()).config))
    assert await get(store, render) == before
    assert render.calls == 2
    registry.swap(build_transformers(load(json.dumps(new_doc).encode()).config))
    with pytest.raises(InternalError):
        await get(store, render)


async def test_cache_hits_record_no_transformation(
    datastore: Datastore, registry: TransformerRegistry
) -> None:
    metrics = CollectorRegistry()
    store = ObjectStore(datastore, registry, metrics=StorageMetrics(metrics))
    await store.create("secrets", secret(password="hunter2"))
    render = Renders()
    for _ in range(3):
        await get(store, render)
    reads = metrics.get_sample_value(
        "apiserver_storage_transformation_operations_total",
        {
            "resource": "secrets",
            "transformation_type": "from_storage",
            "transformer_prefix": "k8s:enc:aescbc:v1:",
            "status": "OK",
        },
    )
    assert reads == 1


async def test_size_zero_turns_the_cache_off(
    datastore: Datastore, registry: TransformerRegistry
) -> None:
    store = ObjectStore(datastore, registry, read_cache_entries=0)
    await store.create("secrets", secret(password="hunter2"))
    render = Renders()
    await get(store, render)
    await get(store, render)
    assert render.calls == 2 and len(store.read_cache) == 0


async def test_the_least_recently_used_keys_go_first(
    datastore: Datastore, registry: TransformerRegistry
) -> None:
    store = ObjectStore(datastore, registry, read_cache_entries=2)
    for name in ("a", "b", "c"):
        await store.create("secrets", secret(name=name, password=name))
    render = Renders()
    await get(store, render, "a")
    await get(store, render, "b")
    await get(store, render, "a")  # a is now newer than b
    await get(store, render, "c")  # evicts b
    assert len(store.read_cache) == 2
    calls = render.calls
    await get(store, render, "a")
    assert render.calls == calls
    await get(store, render, "b")
    assert render.calls == calls + 1


def test_the_byte_bound_evicts_and_accounts_exactly() -> None:
    cache = ReadCache(max_entries=100, max_bytes=1100)  # ~510 bytes per entry below

    def put(key: str, rendered: bytes, revision: int = 1) -> None:
        cache.store(key, "json", rendered, revision=revision, generation=0, value=b"v" * 10)

    def hit(key: str, revision: int = 1) -> bytes | None:
        return cache.lookup(key, "json", revision=revision, generation=0, value=b"v" * 10)

    put("/k1", b"x" * 300)
    put("/k2", b"y" * 300)
    put("/k3", b"z" * 300)
    assert len(cache) == 2 and cache.nbytes <= 1100
    assert hit("/k1") is None
    assert hit("/k3") == b"z" * 300
    # a newer revision replaces, never adds to, what is kept for the key
    put("/k3", b"w" * 100, revision=2)
    assert hit("/k3", revision=2) == b"w" * 100
    assert hit("/k3", revision=1) is None  # and an older row drops it
    cache.forget("/k2")
    assert len(cache) == 0 and cache.nbytes == 0
    # an entry bigger than the whole bound is not kept at all
    put("/big", b"b" * 2000)
    assert len(cache) == 0 and cache.nbytes == 0
    with pytest.raises(ValueError):
        ReadCache(max_entries=-1)
