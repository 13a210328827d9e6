"""The real app on real engines: httpx over ASGI, no sockets, no mocks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from kcrypt.apiserver import TokenAuthenticator, create_app, ensure_default_namespaces
from kcrypt.config import build_transformers, generate
from kcrypt.datastore import Datastore, open_datastore
from kcrypt.storage import ObjectStore, StorageMetrics, TransformerRegistry

from ._support import TOKEN

ENGINES = ["memory", "sqlite"]


@pytest.fixture(params=ENGINES)
async def datastore(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Datastore]:
    url = "memory://" if request.param == "memory" else f"sqlite://{tmp_path}/state.db"
    ds = await open_datastore(url)
    try:
        yield ds
    finally:
        await ds.close()


@pytest.fixture
def registry() -> TransformerRegistry:
    return TransformerRegistry(build_transformers(generate("aescbc", key_name="aescbckey")))


@pytest.fixture
async def store(datastore: Datastore, registry: TransformerRegistry) -> ObjectStore:
    store = ObjectStore(datastore, registry, metrics=StorageMetrics(CollectorRegistry()))
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
