"""``kcrypt server --encryption-provider-config`` with KMS configs and real plugins.

The RKE seed's KMS custom config (only the socket path changed) with the
pkcs11 plugin on a per-test SoftHSM2 token, kubectl writing secrets, raw
values read with the sqlite3 CLI; the same with ``apiVersion: v2``; a
socket with no plugin behind it at start-up.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from e2e.harness import Kubectl, require_tools
from e2e.secrets_support import (
    Cli,
    check_readback,
    create_with_kubectl,
    secret_set,
    sqlite_secrets,
)
from e2e.snapshot_support import online_audit

from kcrypt.envelope.kms import object as eo

from .support import LiveServer, PluginProcess, SoftHSMToken, kms_config

pytestmark = pytest.mark.e2e

V1_PREFIX = b"k8s:enc:kms:v1:aws-encryption-provider:"
V2_PREFIX = b"k8s:enc:kms:v2:aws-encryption-provider:"
ENCRYPT = "/v2.KeyManagementService/Encrypt"
LATENCY = "apiserver_envelope_encryption_kms_operations_latency_seconds_count"


def _server(tmp_path: Path, config: str) -> LiveServer:
    path = tmp_path / "encryption-config.yaml"
    path.write_text(config)
    return LiveServer(tmp_path / "data", args=["--encryption-provider-config", str(path)])


def _db(server: LiveServer) -> Path:
    return server.data_dir / "server" / "db" / "state.db"


def test_the_seeds_kms_v1_config_through_a_pkcs11_plugin(tmp_path: Path) -> None:
    require_tools("kubectl", "sqlite3")
    token = SoftHSMToken(tmp_path / "hsm")
    plugin = PluginProcess(tmp_path / "kmsplugin.sock", token.backend_args(), token.env())
    with plugin, _server(tmp_path, kms_config(plugin.endpoint)) as server:
        assert "[+]kms-providers ok" in server.wait_ready()
        kubectl = Kubectl(server.kubeconfig, tmp_path / "kube")
        secrets = secret_set(6, tag="v1")
        create_with_kubectl(kubectl, secrets)
        check_readback(kubectl, secrets)
        raw = sqlite_secrets(_db(server))
        assert len(raw) == 6
        for value in raw.values():
            assert value.startswith(V1_PREFIX)
            assert b"v1-value" not in value
        log = server.log()
        assert log.count("KMSv1 is deprecated and will only receive security updates") == 1
    # (the key's CKA_VALUE is refused: tests/kms/test_plugin.py reads it on the same kind of token)


def test_a_v2_config_one_encrypt_per_seed_then_rotation_and_reencrypt(tmp_path: Path) -> None:
    require_tools("kubectl", "sqlite3")
    token = SoftHSMToken(tmp_path / "hsm")
    plugin = PluginProcess(tmp_path / "kmsplugin.sock", token.backend_args(), token.env())
    with plugin, _server(tmp_path, kms_config(plugin.endpoint, v2=True)) as server:
        server.wait_ready()
        kubectl = Kubectl(server.kubeconfig, tmp_path / "kube")
        secrets = secret_set(30, tag="v2")
        create_with_kubectl(kubectl, secrets)
        check_readback(kubectl, secrets)
        raw = sqlite_secrets(_db(server))
        for value in raw.values():
            assert value.startswith(V2_PREFIX)
            obj = eo.decode(value[len(V2_PREFIX) :], provider="p", storage_key="k")
            assert obj.keyID == "kcrypt-kek-1"
            assert obj.encryptedDEKSourceType == eo.HKDF_SHA256_XNONCE_AES_GCM_SEED
        sources = {
            eo.decode(v[len(V2_PREFIX) :], provider="p", storage_key="k").encryptedDEKSource
            for v in raw.values()
        }
        assert len(sources) == 1  # one seed for all 30 secrets
        assert server.metric(LATENCY, method_name=ENCRYPT, grpc_status_code="OK") == 1.0

        cli = Cli(server)
        status = cli.text()
        assert re.search(r"\*\s+KMSv2\s+aws-encryption-provider\s+sha256:[0-9a-f]{64}", status)

        # rotate-keys on a KMS-first config: nothing is asked of the plugin
        out = cli.ok("rotate-keys")
        assert "nothing is asked of the plugin" in out
        assert server.metric(LATENCY, method_name=ENCRYPT, grpc_status_code="OK") == 1.0
        assert sqlite_secrets(_db(server)) == raw  # already under the current key ID

        # the KMS rotates: reencrypt moves every value to the new key ID
        assert plugin.rotate() == "kcrypt-kek-2"
        out = cli.ok("reencrypt", "--wait")
        assert "reencryption finished" in out
        moved = sqlite_secrets(_db(server))
        assert set(moved) == set(raw)
        for value in moved.values():
            obj = eo.decode(value[len(V2_PREFIX) :], provider="p", storage_key="k")
            assert obj.keyID == "kcrypt-kek-2"
        assert server.metric(LATENCY, method_name=ENCRYPT, grpc_status_code="OK") == 2.0
        check_readback(kubectl, secrets)
        assert eo.key_id_hash("kcrypt-kek-2") in cli.text()


def test_a_socket_with_no_plugin_starts_not_ready_until_the_plugin_appears(
    tmp_path: Path,
) -> None:
    require_tools("kubectl")
    socket = tmp_path / "run" / "kmsplugin.sock"
    args = ["--backend", "keyfile", "--key-file", str(tmp_path / "keys.json")]
    plugin = PluginProcess(socket, args, dict(os.environ))
    with _server(tmp_path, kms_config(plugin.endpoint, v2=True)) as server:
        text = server.wait_ready(False)
        assert "[-]kms-providers failed: reason withheld" in text
        kubectl = Kubectl(server.kubeconfig, tmp_path / "kube")
        err = kubectl.fail("create", "secret", "generic", "early", "--from-literal=a=b")
        assert "got unexpected nil transformer" in err
        assert "NotFound" in kubectl.fail("get", "secret", "early")  # no fallback to identity
        lines = [line for line in server.log().splitlines() if "is not ready" in line]
        assert len(lines) == 1
        assert '"aws-encryption-provider"' in lines[0] and str(socket) in lines[0]
        with plugin:
            server.wait_ready(True, timeout=60)  # the poller retries every 10 s
            kubectl.run("create", "secret", "generic", "late", "--from-literal=a=b")
            assert kubectl.json("get", "secret", "late")["data"] == {"a": "Yg=="}
            assert any("is ready" in line for line in server.log().splitlines())


@pytest.mark.parametrize("v2", [True, False], ids=["kms-v2", "kms-v1"])
def test_the_online_audit_opens_kms_values_through_the_servers_plugin(
    tmp_path: Path, v2: bool
) -> None:
    """Online, the server audits with its live providers: KMS values are decrypted
    through its plugin connection, not reported unreachable as an offline audit must."""
    require_tools("kubectl")
    keys = ["--backend", "keyfile", "--key-file", str(tmp_path / "keys.json")]
    plugin = PluginProcess(tmp_path / "kmsplugin.sock", keys, dict(os.environ))
    with plugin, _server(tmp_path, kms_config(plugin.endpoint, v2=v2)) as server:
        server.wait_ready()
        kubectl = Kubectl(server.kubeconfig, tmp_path / "kube")
        create_with_kubectl(kubectl, secret_set(5, tag="audited"))
        code, doc = online_audit(server)
        assert code == 0, doc
        (row,) = [r for r in doc["rows"] if r["resource"] == "secrets" and r["count"]]
        assert (row["provider"], row["key"]) == ("kms", "aws-encryption-provider")
        assert (row["count"], row["undecryptable"], row["write"]) == (5, 0, True)
        assert doc["left"] is False
