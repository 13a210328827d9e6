"""RKE workflow end-to-end tests: real kcrypt servers, real kubectl, real sshd, real etcd.

Every test here is marked ``e2e``; the ones on a 3-member etcd also ``etcd``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import require_tools
from etcd_cluster import EtcdCluster, etcd_available, fast_dir

from .cluster import RkeCluster
from .sshd import SSHServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def etcd3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    require_tools("etcdctl", "kubectl")
    base = fast_dir("rke-etcd", tmp_path_factory)
    try:
        with EtcdCluster(3, base) as cluster:
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    server = SSHServer.start(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RkeCluster]:
    """One kcrypt server on SQLite, its config file written directly (``local: true``)."""
    require_tools("kubectl", "sqlite3")
    cluster = RkeCluster.start(tmp_path_factory.mktemp("rke-single"), 1)
    try:
        yield cluster
    finally:
        cluster.stop()
