"""HA fixtures: every test here is marked ``e2e`` and ``etcd``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import require_tools
from etcd_cluster import EtcdCluster, etcd_available, fast_dir

from .harness import HACluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.etcd)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    require_tools("etcdctl")
    base = fast_dir("ha-etcd", tmp_path_factory)
    try:
        with EtcdCluster(3, base) as cluster:
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def ha(etcd: EtcdCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HACluster]:
    cluster = HACluster.start(etcd, tmp_path_factory.mktemp("ha"))
    try:
        yield cluster
    finally:
        cluster.stop()
