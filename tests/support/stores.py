"""Object stores on real engines (memory and a SQLite file) with a real aescbc config.

The storage and API server suites both build their ``store`` from these
fixtures; a folder's conftest re-exports them (``__all__``) and adds its own
``store``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kcrypt.config import build_transformers, generate
from kcrypt.datastore import Datastore, open_datastore
from kcrypt.storage import TransformerRegistry

__all__ = ["ENGINES", "datastore", "metrics_registry", "registry"]

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
def metrics_registry() -> CollectorRegistry:
    return CollectorRegistry()
