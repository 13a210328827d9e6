"""The offline audit and ``kcrypt decrypt`` of a KMS config reach the plugin the config names.

A real server writes secrets through a real plugin process (keyfile backend),
then stops; ``kcrypt audit --datastore`` and ``kcrypt decrypt`` read the
SQLite file with nothing but the config, the plugin still running on its
socket, as on a control-plane node. With the plugin gone the values are
reported unreadable, naming the plugin and its answer.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
from e2e.harness import Kubectl, kcrypt_command, require_tools
from e2e.secrets_support import create_with_kubectl, secret_set

from .support import LiveServer, PluginProcess, kms_config

pytestmark = pytest.mark.e2e


def _kcrypt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*kcrypt_command(), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("v2", [True, False], ids=["kms-v2", "kms-v1"])
def test_offline_audit_and_decrypt_open_kms_values_through_the_configs_plugin(
    tmp_path: Path, v2: bool
) -> None:
    require_tools("kubectl")
    keys = ["--backend", "keyfile", "--key-file", str(tmp_path / "keys.json")]
    plugin = PluginProcess(tmp_path / "kmsplugin.sock", keys, dict(os.environ))
    config = tmp_path / "encryption-config.yaml"
    secrets = secret_set(4, tag="offline")
    with plugin:
        config.write_text(kms_config(plugin.endpoint, v2=v2))
        server = LiveServer(tmp_path / "data", args=["--encryption-provider-config", str(config)])
        with server:
            server.wait_ready()
            create_with_kubectl(Kubectl(server.kubeconfig, tmp_path / "kube"), secrets)
        db = str(server.data_dir / "server" / "db" / "state.db")
        offline = ("--datastore", db, "--config", str(config))

        proc = _kcrypt("audit", *offline, "--no-history", "-o", "json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        doc = json.loads(proc.stdout)
        (row,) = [r for r in doc["rows"] if r["resource"] == "secrets" and r["count"]]
        assert (row["provider"], row["key"]) == ("kms", "aws-encryption-provider")
        assert (row["count"], row["undecryptable"], row["write"]) == (4, 0, True)

        (ns, name), data = next(iter(secrets.items()))
        proc = _kcrypt("decrypt", f"/registry/secrets/{ns}/{name}", *offline, "-o", "json")
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)["data"]
        assert {k: base64.b64decode(v) for k, v in got.items()} == data

    # the plugin has stopped: every value is named unreadable, with the plugin's answer
    proc = _kcrypt("audit", *offline, "--no-history", "-o", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    (row,) = [r for r in doc["rows"] if r["resource"] == "secrets" and r["count"]]
    assert (row["count"], row["undecryptable"]) == (4, 4)
    [(reason, count)] = row["reasons"].items()
    assert count == 4
    wrapper = (
        "kmsv2 Provider aws-encryption-provider is not healthy" if v2 else "failed to decrypt DEK"
    )
    answer = f"the plugin at {plugin.endpoint} did not answer its health check: "
    assert reason.startswith(f"{wrapper}, error: {answer}")
    assert "rpc error: code = DeadlineExceeded" in reason
    assert proc.stderr == ""  # no server-side log lines
