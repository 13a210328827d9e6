"""Paged lists as kube-apiserver's etcd3 store pages them: counts, expiry, versions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kcrypt.storage import Expired, ObjectStore, TooLargeResourceVersion


def secret(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels}}


async def fill(store: ObjectStore, n: int) -> None:
    for i in range(n):
        await store.create("secrets", secret(f"s{i:02d}", even=str(i % 2 == 0).lower()))


async def test_every_page_with_a_token_says_how_many_items_remain(store: ObjectStore) -> None:
    await fill(store, 7)
    page = await store.list("secrets", namespace="default", limit=3)
    counts = []
    while True:
        counts.append((len(page.items), page.remaining_item_count))
        if not page.continue_token:
            break
        page = await store.list(
            "secrets", namespace="default", limit=3, continue_token=page.continue_token
        )
    assert counts == [(3, 4), (3, 1), (1, None)]


async def test_a_selective_page_has_no_remaining_count(store: ObjectStore) -> None:
    await fill(store, 6)
    page = await store.list("secrets", namespace="default", limit=1, label_selector="even=true")
    assert page.continue_token and page.remaining_item_count is None


async def test_limit_zero_or_negative_returns_everything(store: ObjectStore) -> None:
    await fill(store, 3)
    for limit in (0, -1):
        page = await store.list("secrets", namespace="default", limit=limit)
        assert len(page.items) == 3 and not page.continue_token


async def test_an_expired_token_is_410_with_a_fresh_token_that_continues_at_the_latest(
    store: ObjectStore,
) -> None:
    await fill(store, 5)
    first = await store.list("secrets", namespace="default", limit=2)
    await store.create("secrets", secret("s99"))
    await store.delete("secrets", "s03", namespace="default")
    await store.datastore.compact(await store.datastore.revision())
    with pytest.raises(Expired) as expired:
        await store.list(
            "secrets", namespace="default", limit=2, continue_token=first.continue_token
        )
    assert expired.value.message.startswith(
        "The provided continue parameter is too old to display a consistent list result."
    )
    token = expired.value.continue_token
    raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert raw == {"v": "meta.k8s.io/v1", "rv": -1, "start": "s01\u0000"}
    rest = await store.list("secrets", namespace="default", limit=10, continue_token=token)
    assert [o["metadata"]["name"] for o in rest.items] == ["s02", "s04", "s99"]
    assert rest.resource_version != first.resource_version


async def test_a_list_at_a_compacted_revision_is_410(store: ObjectStore) -> None:
    await fill(store, 2)
    old = (await store.list("secrets")).resource_version
    await store.create("secrets", secret("later"))
    await store.datastore.compact(await store.datastore.revision())
    with pytest.raises(Expired, match=r"The resourceVersion for the provided list is too old\."):
        await store.list("secrets", limit=1, resource_version=old)


async def test_resource_version_with_a_limit_is_an_exact_read(store: ObjectStore) -> None:
    await fill(store, 2)
    then = (await store.list("secrets")).resource_version
    await store.create("secrets", secret("later"))
    exact = await store.list("secrets", limit=10, resource_version=then)
    assert [o["metadata"]["name"] for o in exact.items] == ["s00", "s01"]
    assert exact.resource_version == then
    newer = await store.list("secrets", resource_version=then)  # no limit: not older than
    assert len(newer.items) == 3


async def test_a_resource_version_from_the_future_is_too_large(store: ObjectStore) -> None:
    current = int((await store.list("secrets")).resource_version)
    with pytest.raises(TooLargeResourceVersion, match="Too large resource version"):
        await store.list("secrets", resource_version=str(current + 1000))
    with pytest.raises(TooLargeResourceVersion):
        await store.list("secrets", limit=5, resource_version=str(2**64 - 1))
