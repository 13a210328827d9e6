"""The real app on real engines: httpx over ASGI, no sockets, no mocks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from support.stores import datastore, metrics_registry, registry

from kcrypt.apiserver import TokenAuthenticator, create_app, ensure_default_namespaces
from kcrypt.datastore import Datastore
from kcrypt.storage import ObjectStore, StorageMetrics, TransformerRegistry

from ._support import TOKEN

__all__ = ["datastore", "metrics_registry", "registry"]


@pytest.fixture
async def store(
    datastore: Datastore, registry: TransformerRegistry, metrics_registry: CollectorRegistry
) -> ObjectStore:
    store = ObjectStore(datastore, registry, metrics=StorageMetrics(metrics_registry))
    await ensure_default_namespaces(store)
    return store


@pytest.fixture
def app(store: ObjectStore) -> object:
    return create_app(store=store, token_check=TokenAuthenticator(TOKEN))


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://kcrypt.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        yield c
