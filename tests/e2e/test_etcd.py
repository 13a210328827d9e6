"""``kcrypt server --datastore-endpoint etcd://...``: values land in etcd in
kube-apiserver's layout, encrypted, as ``etcdctl`` shows them."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from etcd_cluster import EtcdCluster, etcd_available

from .harness import KcryptServer, Kubectl, etcd_raw, require_tools

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    require_tools("etcdctl", "kubectl")
    with EtcdCluster(1, tmp_path_factory.mktemp("etcd")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(etcd: EtcdCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KcryptServer]:
    base = tmp_path_factory.mktemp("kcrypt-etcd")
    args = ["--datastore-endpoint", etcd.url, "--secrets-encryption"]
    with KcryptServer(base / "data", args=args) as server:
        yield server


def test_secrets_are_encrypted_in_etcd_and_configmaps_stay_plain(
    etcd: EtcdCluster, server: KcryptServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    kubectl = Kubectl(server.kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))
    kubectl.run("create", "secret", "generic", "db", "--from-literal=password=etcd-marker-99")
    kubectl.run("create", "configmap", "settings", "--from-literal=mode=cm-marker-99")
    endpoints = ",".join(etcd.endpoints)

    raw = etcd_raw(endpoints, "/registry/secrets/default/db")
    assert raw is not None and raw.startswith(b"k8s:enc:aescbc:v1:aescbckey:")
    assert b"etcd-marker-99" not in raw
    cm = etcd_raw(endpoints, "/registry/configmaps/default/settings")
    assert cm is not None and cm.startswith(b"k8s\x00") and b"cm-marker-99" in cm
    assert etcd_raw(endpoints, "/registry/namespaces/kube-system") is not None

    got = kubectl.json("get", "secret", "db")
    assert base64.b64decode(got["data"]["password"]) == b"etcd-marker-99"
    kubectl.run("delete", "secret", "db")
    assert etcd_raw(endpoints, "/registry/secrets/default/db") is None
