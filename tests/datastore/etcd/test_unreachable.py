"""No etcd behind the endpoint: ``Unavailable`` naming it, within the timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
from etcd_cluster import EtcdCluster, free_ports

from kcrypt.datastore import InvalidEndpoint, Unavailable, open_datastore
from kcrypt.datastore.etcd import open_etcd

pytestmark = pytest.mark.etcd


async def test_open_against_a_closed_port() -> None:
    (port,) = free_ports(1)
    with pytest.raises(Unavailable) as info:
        await open_etcd(f"etcd://127.0.0.1:{port}", timeout=0.5)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert info.value.endpoint == f"etcd://127.0.0.1:{port}"


async def test_open_names_every_member_of_a_dead_cluster() -> None:
    ports = free_ports(3)
    url = "etcd://" + ",".join(f"127.0.0.1:{p}" for p in ports)
    with pytest.raises(Unavailable) as info:
        await open_datastore(url, timeout=0.5)
    for p in ports:
        assert f"127.0.0.1:{p}" in str(info.value)


async def test_credentials_are_refused_and_never_echoed() -> None:
    with pytest.raises(InvalidEndpoint) as info:
        await open_etcd("etcd://admin:hunter2@127.0.0.1:2379", timeout=0.5)
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1:2379" in str(info.value)


async def test_not_an_etcd_url() -> None:
    with pytest.raises(InvalidEndpoint):
        await open_etcd("ftp://127.0.0.1:2379")


async def test_operations_fail_with_unavailable_once_etcd_is_gone(tmp_path: Path) -> None:
    with EtcdCluster(1, tmp_path) as cluster:
        ds = await open_etcd(cluster.url, timeout=0.5)
        await ds.create("/k", b"v")
        cluster.stop()
        with pytest.raises(Unavailable) as info:
            await ds.get("/k")
        assert cluster.endpoints[0] in str(info.value)
        with pytest.raises(Unavailable):
            await ds.create("/k2", b"v")
        await ds.close()
