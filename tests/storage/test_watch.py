"""ObjectStore.watch: kube-apiserver's event types, including selector transitions."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kcrypt.config import build_transformers, dump_json, generate, load
from kcrypt.storage import Expired, ObjectStore, TransformerRegistry, WatchEvent

WAIT = 20.0  # a bound on hangs, never a timing assertion


def secret(name: str, labels: dict[str, str] | None = None, value: str = "v") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "data": {"k": base64.b64encode(value.encode()).decode()},
    }


async def take(events: AsyncIterator[WatchEvent], count: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    try:
        async with asyncio.timeout(WAIT):
            async for ev in events:
                out.append((ev.type, ev.object["metadata"]["name"]))
                if len(out) == count:
                    break
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    return out


async def test_watch_from_a_resource_version_sees_later_changes_in_order(
    store: ObjectStore,
) -> None:
    first = await store.create("secrets", secret("a"))
    await store.create("secrets", secret("b"))
    await store.update("secrets", secret("a", value="changed"))
    await store.delete("secrets", "b", namespace="default")
    events = store.watch(
        "secrets", namespace="default", resource_version=first["metadata"]["resourceVersion"]
    )
    assert await take(events, 3) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


async def test_watch_without_resource_version_starts_with_the_current_objects(
    store: ObjectStore,
) -> None:
    await store.create("secrets", secret("a"))
    events = store.watch("secrets", namespace="default")
    first = await events.__anext__()
    assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "a")
    await store.create("secrets", secret("b"))
    assert await take(events, 1) == [("ADDED", "b")]


async def test_deleted_event_carries_the_last_object_at_the_deletion_revision(
    store: ObjectStore,
) -> None:
    created = await store.create("secrets", secret("a"))
    await store.delete("secrets", "a", namespace="default")
    events = store.watch(
        "secrets", namespace="default", resource_version=created["metadata"]["resourceVersion"]
    )
    try:
        async with asyncio.timeout(WAIT):
            ev = await events.__anext__()
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    assert ev.type == "DELETED"
    assert ev.object["data"] == created["data"]
    assert int(ev.object["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )


async def test_objects_entering_and_leaving_a_label_selection(store: ObjectStore) -> None:
    start = await store.create("secrets", secret("a", {"app": "x"}))
    await store.update("secrets", secret("a", {"app": "web"}))  # enters: ADDED
    await store.update("secrets", secret("a", {"app": "web"}, value="2"))  # MODIFIED
    await store.update("secrets", secret("a", {"app": "db"}))  # leaves: DELETED
    await store.create("secrets", secret("b", {"app": "web"}))  # ADDED
    events = store.watch(
        "secrets",
        namespace="default",
        resource_version=start["metadata"]["resourceVersion"],
        label_selector="app=web",
    )
    assert await take(events, 4) == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
        ("ADDED", "b"),
    ]


async def test_watch_from_a_compacted_revision_is_expired(store: ObjectStore) -> None:
    first = await store.create("secrets", secret("a"))
    for i in range(3):
        await store.update("secrets", secret("a", value=str(i)))
    await store.datastore.compact(await store.datastore.revision())
    events = store.watch(
        "secrets", namespace="default", resource_version=first["metadata"]["resourceVersion"]
    )
    with pytest.raises(Expired, match="too old resource version"):
        async with asyncio.timeout(WAIT):
            await events.__anext__()


def config_with_keys(*names: str) -> Any:
    """An aescbc config whose keys are ``names`` (the first one writes)."""
    docs = [json.loads(dump_json(generate("aescbc", key_name=n))) for n in names]
    doc = docs[0]
    keys = doc["resources"][0]["providers"][0]["aescbc"]["keys"]
    for other in docs[1:]:
        keys.append(other["resources"][0]["providers"][0]["aescbc"]["keys"][0])
    return doc


def transformers_of(doc: dict[str, Any]) -> Any:
    return build_transformers(load(json.dumps(doc).encode()).config)


async def test_an_open_watch_reads_events_with_the_live_keys_through_a_rotation(
    store: ObjectStore, registry: TransformerRegistry
) -> None:
    """Issue 9: a watch opened under key A still decodes values written under key B
    after B is added, promoted and A removed -- without a restart."""
    a_only = config_with_keys("keya")
    registry.swap(transformers_of(a_only))
    await store.create("secrets", secret("before"))
    events = store.watch("secrets", namespace="default")
    try:
        async with asyncio.timeout(WAIT):
            assert (await events.__anext__()).object["metadata"]["name"] == "before"
            b_key = config_with_keys("keyb")["resources"][0]["providers"][0]["aescbc"]["keys"][0]
            both = json.loads(json.dumps(a_only))
            both["resources"][0]["providers"][0]["aescbc"]["keys"].insert(0, b_key)
            registry.swap(transformers_of(both))  # B writes, A still reads
            await store.create("secrets", secret("under-b"))
            ev = await events.__anext__()
            assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "under-b")
            await store.update("secrets", secret("before", value="rewritten"))
            ev = await events.__anext__()
            assert (ev.type, ev.object["data"]["k"]) == ("MODIFIED", b64("rewritten"))
            b_only = json.loads(json.dumps(both))
            del b_only["resources"][0]["providers"][0]["aescbc"]["keys"][1]
            registry.swap(transformers_of(b_only))  # A removed
            await store.create("secrets", secret("after-removal"))
            ev = await events.__anext__()
            assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "after-removal")
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def test_an_event_no_live_key_can_read_ends_the_watch_with_410(
    store: ObjectStore, registry: TransformerRegistry
) -> None:
    """A watcher far behind reaches a value under a key that was removed since: 410
    Expired (it re-lists), never a 500."""
    registry.swap(transformers_of(config_with_keys("keya")))
    start = await store.create("secrets", secret("old"))
    await store.create("secrets", secret("written-under-a"))
    registry.swap(transformers_of(config_with_keys("keyb")))  # A gone, nothing rewritten
    events = store.watch(
        "secrets", namespace="default", resource_version=start["metadata"]["resourceVersion"]
    )
    try:
        with pytest.raises(Expired, match="too old resource version"):
            async with asyncio.timeout(WAIT):
                await events.__anext__()
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def test_a_watch_on_a_resource_version_beyond_int64_waits_instead_of_failing(
    store: ObjectStore,
) -> None:
    events = store.watch("secrets", namespace="default", resource_version=str(2**64 - 1))
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):  # it waits: no event, no error
                await events.__anext__()
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
