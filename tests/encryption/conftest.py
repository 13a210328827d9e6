"""The store the controller suites run on: in memory, and a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kcrypt.datastore.contract import Datastore
from kcrypt.datastore.endpoint import open_datastore


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Datastore]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/state.db"
    ds = await open_datastore(url)
    yield ds
    await ds.close()
