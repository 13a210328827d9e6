"""The ``engine`` fixture of the datastore suites (see ``engines.py``)."""

from __future__ import annotations

import importlib
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from datastore.engines import ALL_ENGINES, ENGINE_FACTORIES, ETCD_ENGINES, Engine

try:  # tests/etcd_cluster.py: the etcd launchers and their session fixtures
    _etcd_cluster: types.ModuleType | None = importlib.import_module("etcd_cluster")
except ModuleNotFoundError as exc:
    if exc.name != "etcd_cluster":
        raise  # the launcher exists but is broken: fail loudly, never skip
    _etcd_cluster = None

# Session-scoped clusters, one of each size, shared by every test (each test
# has its own key prefix). tests/etcd_cluster.py may define its own fixtures
# of these names; then those are used.
if _etcd_cluster is not None and hasattr(_etcd_cluster, "etcd1_cluster"):
    etcd1_cluster = _etcd_cluster.etcd1_cluster
else:

    @pytest.fixture(scope="session")
    def etcd1_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        assert _etcd_cluster is not None
        with _etcd_cluster.EtcdCluster(1, tmp_path_factory.mktemp("etcd1")) as cluster:
            yield cluster


if _etcd_cluster is not None and hasattr(_etcd_cluster, "etcd3_cluster"):
    etcd3_cluster = _etcd_cluster.etcd3_cluster
else:

    @pytest.fixture(scope="session")
    def etcd3_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        assert _etcd_cluster is not None
        with _etcd_cluster.EtcdCluster(3, tmp_path_factory.mktemp("etcd3")) as cluster:
            yield cluster


ETCD_LAUNCHER_MISSING = "etcd launcher not available"


def _param(name: str) -> object:
    if name in ETCD_ENGINES:
        return pytest.param(name, marks=pytest.mark.etcd, id=name)
    return pytest.param(name, id=name)


@pytest.fixture(params=[_param(n) for n in ALL_ENGINES])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    name: str = request.param
    if name in ETCD_ENGINES and _etcd_cluster is None:
        pytest.skip(ETCD_LAUNCHER_MISSING)
    handle = await ENGINE_FACTORIES[name](request, tmp_path)
    try:
        yield handle
    finally:
        await handle.ds.close()
