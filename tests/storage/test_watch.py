"""ObjectStore.watch: kube-apiserver's event types, including selector transitions."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kcrypt.storage import Expired, ObjectStore, WatchEvent

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
