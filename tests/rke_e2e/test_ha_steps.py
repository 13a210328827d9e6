"""Issue 11's whole sequence on three kcrypt servers over a 3-member etcd.

Each server loads its own ``--encryption-provider-config`` file; ``s1`` is
written directly, ``s2`` and ``s3`` through a real OpenSSH server. kubectl
writes through all three servers and readers list through all three during
every step. After each step every raw etcd value (etcdctl) must decrypt, with
an independent AES implementation, under exactly the expected key -- or be
plaintext where it must be.
"""

from __future__ import annotations

import base64
import os
import stat
import time
from collections.abc import Iterator
from typing import Any

import pytest
from etcd_cluster import EtcdCluster

from .cluster import RkeCluster, config_keys, write_key
from .load import KubectlLoad
from .sshd import SSHServer

pytestmark = pytest.mark.etcd

CUSTOM_KEY = base64.b64encode(os.urandom(32)).decode()


def custom(resources: list[str], key: str = CUSTOM_KEY) -> dict[str, Any]:
    return {
        "enabled": True,
        "custom_config": {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "EncryptionConfiguration",
            "resources": [
                {
                    "resources": resources,
                    "providers": [
                        {"aesgcm": {"keys": [{"name": "gcm-first", "secret": key}]}},
                        {"identity": {}},
                    ],
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def ha(
    etcd3: EtcdCluster, sshd: SSHServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RkeCluster]:
    cluster = RkeCluster.start(
        tmp_path_factory.mktemp("rke-ha"),
        3,
        etcd_url=etcd3.url,
        etcd_endpoints=",".join(etcd3.endpoints),
        ssh=sshd,
    )
    try:
        yield cluster
    finally:
        cluster.stop()


def _seed(cluster: RkeCluster) -> None:
    kubectl = cluster.kubectl(0)
    for i in range(15):
        kubectl.run(
            "create", "secret", "generic", f"pre-{i:02d}", f"--from-literal=v=pre-value-{i}"
        )
        if i % 3 == 0:
            kubectl.run("create", "configmap", f"pre-cm-{i:02d}", f"--from-literal=v=pre-cm-{i}")


def _expect(cluster: RkeCluster, secrets: str, configmaps: str) -> None:
    under = cluster.keys_under()
    assert any(k.startswith("/registry/secrets/") for k in under)
    assert any(k.startswith("/registry/configmaps/") for k in under)
    wrong = {
        k: v
        for k, v in under.items()
        if v != (secrets if k.startswith("/registry/secrets/") else configmaps)
    }
    assert not wrong, f"{len(wrong)} values not as expected: {dict(list(wrong.items())[:5])}"


def _current(cluster: RkeCluster) -> str:
    return str(cluster.state()["currentState"]["encryptionConfig"])


def test_every_step_through_three_servers_with_kubectl_writing(
    ha: RkeCluster, sshd: SSHServer
) -> None:
    _seed(ha)
    seen: dict[str, str] = {}  # key name -> secret, every key the steps produced
    with KubectlLoad(ha) as load:

        def step(encryption: dict[str, Any] | None, *command: str) -> str:
            start = time.monotonic()
            ha.write_cluster_yml(encryption)
            out = ha.kcrypt(*command).stdout
            end = time.monotonic()
            load.wait_for_writes(end)
            assert load.writers_during(start, end) == {0, 1, 2}, out
            assert not load.errors, load.errors[:5]
            files = {ha.config_file(i).read_bytes() for i in range(3)}
            assert len(files) == 1, "the three servers' files differ"
            for i in range(3):
                assert stat.S_IMODE(os.stat(ha.config_file(i)).st_mode) == 0o600
            return out

        # 1. managed enable: a new aescbc key writes secrets; configmaps stay plaintext
        out = step({"enabled": True}, "up")
        k1 = write_key(_current(ha), "secrets")
        assert k1.startswith("k-") and len(k1) == 7, out
        assert f"Generated new encryption key {k1}" in out
        assert "services.kube-api.extra_binds" in out and "nodes[].docker_socket" in out
        secret = config_keys(_current(ha))[("aescbc", k1)]
        assert len(base64.b64decode(secret)) == 32
        seen[k1] = secret
        _expect(ha, k1, "identity")
        assert sshd.logins() > 0, "no node was reached over SSH"

        # a second up with nothing changed says so
        assert "Nothing changed" in step({"enabled": True}, "up")

        # 2. encrypt rotate-key: a new key; the old one is retired, not lost
        out = step({"enabled": True}, "encrypt", "rotate-key")
        k2 = write_key(_current(ha), "secrets")
        assert k2 not in seen and "rotated successfully" in out
        seen[k2] = config_keys(_current(ha))[("aescbc", k2)]
        retired = {k["name"] for k in ha.state()["kcrypt"]["retiredKeys"]}
        assert k1 in retired
        _expect(ha, k2, "identity")

        # 3. enabled: false -- identity first, rewrite, then identity only
        step({"enabled": False}, "up")
        assert write_key(_current(ha), "secrets") == "identity"
        assert not config_keys(_current(ha)), "a key is still deployed after disabling"
        _expect(ha, "identity", "identity")

        # 4. re-enable: never the old key
        step({"enabled": True}, "up")
        k3 = write_key(_current(ha), "secrets")
        k3_secret = config_keys(_current(ha))[("aescbc", k3)]
        assert k3 not in seen and k3_secret not in seen.values()
        seen[k3] = k3_secret
        _expect(ha, k3, "identity")

        # 5. a custom config: aesgcm + identity for secrets and configmaps
        step(custom(["secrets", "configmaps"]), "up")
        assert write_key(_current(ha), "secrets") == "gcm-first"
        _expect(ha, "gcm-first", "gcm-first")

        # 6. custom rotation, which RKE refuses: a new key first in the aesgcm provider
        out = step(custom(["secrets", "configmaps"]), "encrypt", "rotate-key")
        k4 = write_key(_current(ha), "secrets")
        assert k4 not in seen and k4 != "gcm-first" and ("aesgcm", k4) in config_keys(_current(ha))
        _expect(ha, k4, k4)

        # 7. removing the block: everything back to plaintext
        step(None, "up")
        _expect(ha, "identity", "identity")
        assert "Nothing changed" in step(None, "up")
        retired = {k["name"] for k in ha.state()["kcrypt"]["retiredKeys"]}
        assert {k1, k2, k3, "gcm-first", k4} <= retired
    assert load.reads > 0 and not load.errors, load.errors[:5]
    _read_back(ha, load.latest)


def _read_back(cluster: RkeCluster, latest: dict[tuple[str, str], str]) -> None:
    """Every object the load wrote reads back, with its last value, through every server."""
    for server in cluster.servers:
        with server.client() as c:
            for (kind, name), value in latest.items():
                path = "secrets" if kind == "Secret" else "configmaps"
                r = c.get(f"/api/v1/namespaces/default/{path}/{name}")
                assert r.status_code == 200, (server.data_dir.name, name, r.text)
                data = r.json()["data"]["v"]
                got = base64.b64decode(data).decode() if kind == "Secret" else data
                assert got == value
