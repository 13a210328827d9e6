"""Three ``kcrypt server`` processes on a 3-member etcd, each with its own
``kcrypt kms-plugin`` process on one shared SoftHSM2 token (as three API
servers, each with a local plugin, in front of one HSM).

A plugin key rotation (``kcrypt kms-plugin rotate`` on the token) and a
``secrets-encrypt rotate-keys`` through one server leave every value
readable through every server: the other servers have never seen the DEK
seed the pass wrote with, and their plugins find the new key on the token.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import require_tools
from e2e.secrets_support import Cli, etcd_secrets
from etcd_cluster import EtcdCluster, etcd_available

from kcrypt.envelope.kms import object as eo

from .support import LiveServer, PluginProcess, SoftHSMToken, kms_config

pytestmark = [pytest.mark.e2e, pytest.mark.etcd]

TOKEN = "kms-ha-token-" + "5" * 40
PREFIX = b"k8s:enc:kms:v2:aws-encryption-provider:"


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdCluster]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    require_tools("etcdctl")
    with EtcdCluster(3, tmp_path / "etcd") as cluster:
        yield cluster


def _key_ids(raw: dict[str, bytes]) -> set[str]:
    return {eo.decode(v[len(PREFIX) :], provider="p", storage_key="k").keyID for v in raw.values()}


def _read_all(server: LiveServer, names: list[str]) -> dict[str, str]:
    out = {}
    with server.client() as client:
        for name in names:
            r = client.get(f"/api/v1/namespaces/default/secrets/{name}")
            assert r.status_code == 200, (server.data_dir.name, name, r.text)
            out[name] = base64.b64decode(r.json()["data"]["v"]).decode()
    return out


def _create(server: LiveServer, names: list[str]) -> None:
    with server.client() as client:
        for name in names:
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "default"},
                "data": {"v": base64.b64encode(f"value-of-{name}".encode()).decode()},
            }
            r = client.post("/api/v1/namespaces/default/secrets", json=body)
            assert r.status_code == 201, r.text


def test_three_servers_three_plugins_one_token(tmp_path: Path, etcd: EtcdCluster) -> None:
    token = SoftHSMToken(tmp_path / "hsm")
    plugins: list[PluginProcess] = []
    servers: list[LiveServer] = []
    try:
        for i in range(3):  # the first plugin makes the token's first key
            socket = tmp_path / f"p{i}" / "kmsplugin.sock"
            plugins.append(PluginProcess(socket, token.backend_args(), token.env()).start())
        for i, plugin in enumerate(plugins):
            config = tmp_path / f"enc-{i}.yaml"
            config.write_text(kms_config(plugin.endpoint, v2=True))
            args = ["--datastore-endpoint", etcd.url, "--token", TOKEN]
            args += ["--node-name", f"s{i + 1}", "--encryption-provider-config", str(config)]
            server = LiveServer(tmp_path / f"s{i + 1}", args=args)
            servers.append(server.start())
            server.wait_ready()

        names = [f"ha-{i:02d}" for i in range(24)]
        for i, server in enumerate(servers):  # each server writes with its own seed
            _create(server, names[i::3])
        expected = {n: f"value-of-{n}" for n in names}
        for server in servers:
            assert _read_all(server, names) == expected
        assert _key_ids(etcd_secrets(",".join(etcd.endpoints))) == {"kcrypt-kek-1"}

        assert plugins[0].rotate() == "kcrypt-kek-2"  # the KMS rotates (one token)
        out = Cli(servers[1]).ok("rotate-keys")
        assert "nothing is asked of the plugin" in out
        raw = etcd_secrets(",".join(etcd.endpoints))
        assert set(raw) == {f"/registry/secrets/default/{n}" for n in names}
        assert _key_ids(raw) == {"kcrypt-kek-2"}
        for server in servers:  # s1 and s3 never saw s2's new seed
            assert _read_all(server, names) == expected

        late = ["late-1", "late-3"]
        _create(servers[0], late[:1])
        _create(servers[2], late[1:])
        for server in servers:
            assert _read_all(server, names + late) == {
                **expected,
                **{n: f"value-of-{n}" for n in late},
            }
        for plugin in plugins:
            assert token.pin_file.read_text().strip() not in plugin.log()
    finally:
        for server in servers:
            server.stop()
        for plugin in plugins:
            plugin.stop()
    assert all(os.path.exists(p.log_file) for p in plugins)
