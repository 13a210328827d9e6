"""The seed's two restore failures on three servers over a 3-member etcd (HA).

k3s's HA procedure: stop every server, restore on one with ``--cluster-reset
--cluster-reset-restore-path``, start them all; the others follow the
restored state. After each restore every secret reads back, with its original
value, through kubectl on every server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from e2e.harness import Kubectl
from e2e.secrets_support import check_readback, create_with_kubectl, secret_set
from e2e.snapshot_support import cluster_reset, save
from etcd_cluster import EtcdCluster, fast_dir

from .harness import TOKEN, HACluster


def readback_everywhere(
    cluster: HACluster, base: Path, secrets: dict[tuple[str, str], dict[str, bytes]]
) -> None:
    for i, server in enumerate(cluster.servers):
        check_readback(Kubectl(server.kubeconfig, base / f"cache-{i}"), secrets)


def stop_all(cluster: HACluster) -> None:
    for s in cluster.servers:
        assert s.stop() == 0


def start_all(cluster: HACluster) -> None:
    for s in cluster.servers:
        s.start()


def test_both_seed_cases_restore_on_three_servers_over_etcd(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    base = fast_dir("ha-restore", tmp_path_factory)
    try:
        with EtcdCluster(3, base / "etcd") as etcd:
            cluster = HACluster.start(etcd, base / "servers")
            try:
                _run(cluster, etcd, base)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run(cluster: HACluster, etcd: EtcdCluster, base: Path) -> None:
    s1 = cluster.servers[0]
    kubectl = Kubectl(s1.kubeconfig, base / "cache")
    secrets = secret_set(10, tag="ha")
    create_with_kubectl(kubectl, secrets)
    store = ["--datastore-endpoint", etcd.url]
    reset = [*store, "--secrets-encryption", "--token", TOKEN]

    # 1. a snapshot before a rotation, restored after it
    before_rotation = save(s1, *store)
    cluster.cli(1).ok("rotate-keys")
    cluster.wait_converged()
    create_with_kubectl(kubectl, secret_set(2, tag="later"))
    stop_all(cluster)
    cluster_reset(s1.data_dir, before_rotation, *reset)
    start_all(cluster)
    cluster.wait_converged()
    readback_everywhere(cluster, base, secrets)
    names = {i["metadata"]["name"] for i in kubectl.json("get", "secrets", "-A")["items"]}
    assert not any(n.startswith("later") for n in names)
    assert "Read-only keys from the restore: aescbckey" in cluster.cli(2).text()

    # 2. a snapshot while encryption is on, restored after it was turned off
    while_enabled = save(s1, *store, name="enabled")
    cluster.cli(0).ok("disable")
    cluster.wait_converged()
    stop_all(cluster)
    cluster_reset(s1.data_dir, while_enabled, *reset)
    start_all(cluster)
    cluster.wait_converged()
    readback_everywhere(cluster, base, secrets)
