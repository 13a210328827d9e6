"""The classic rotation on a single-member etcd, raw values read with etcdctl."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_cluster import EtcdCluster, etcd_available

from .harness import require_tools
from .secrets_support import Setup, etcd_secrets, keys_in_status

pytestmark = pytest.mark.etcd


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdCluster]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    require_tools("etcdctl", "kubectl")
    with EtcdCluster(1, tmp_path / "etcd") as cluster:
        yield cluster


def test_classic_procedure_and_rotate_keys_on_etcd(etcd: EtcdCluster, tmp_path: Path) -> None:
    endpoints = ",".join(etcd.endpoints)
    args = ["--datastore-endpoint", etcd.url, "--secrets-encryption", "--reload-interval", "0.2"]
    s = Setup(tmp_path / "kcrypt", args, raw=lambda _: etcd_secrets(endpoints))
    try:
        s.add(12, "etcd")
        s.check("aescbckey")
        s.cli.ok("prepare")
        s.restart()
        s.check("aescbckey")
        s.cli.ok("rotate")
        s.restart()
        new_key, _ = keys_in_status(s.cli.status())
        assert new_key.startswith("aescbckey-")
        s.check("aescbckey")
        assert s.cli.ok("reencrypt").strip() == "reencryption started"
        doc = s.cli.wait_stage("reencrypt_finished")
        assert keys_in_status(doc) == (new_key, [new_key])
        s.check(new_key)
        s.restart()
        assert s.cli.status() == doc

        s.cli.ok("rotate-keys")
        active, names = keys_in_status(s.cli.status())
        assert names == [active] and active != new_key
        s.check(active)
        # the state lives in etcd: a fresh data dir on the same etcd gets the cluster's config
        # (a server joining a cluster needs its token and its --secrets-encryption)
        fresh = Setup(
            tmp_path / "fresh",
            [
                "--datastore-endpoint",
                etcd.url,
                "--secrets-encryption",
                "--token",
                s.server.token,
            ],
            raw=s._raw,
        )
        try:
            fresh.secrets = s.secrets
            assert keys_in_status(fresh.cli.status()) == (active, [active])
            fresh.check(active)
        finally:
            fresh.stop()
    finally:
        s.stop()
