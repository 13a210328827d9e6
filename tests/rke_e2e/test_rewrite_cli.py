"""``kcrypt rewrite --kubeconfig FILE``: the rewrite pass on its own, on any cluster.

The operator changes the API server's config file by hand (a new write key);
``kcrypt rewrite`` then moves every stored value to it, through the API only.
"""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
from e2e.harness import kcrypt_command, require_tools, wait_until

from kcrypt.config import config_hash

from .cluster import RkeCluster
from .independent import key_under

KEY = base64.b64encode(os.urandom(32)).decode()
HAND_WRITTEN = f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets, configmaps]
  providers:
  - aesgcm:
      keys:
      - name: by-hand
        secret: {KEY}
  - identity: {{}}
"""


def test_rewrite_moves_every_secret_and_configmap_to_the_write_key(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    require_tools("kubectl", "sqlite3")
    cluster = RkeCluster.start(tmp_path_factory.mktemp("rke-rewrite"), 1)
    try:
        kubectl = cluster.kubectl()
        for i in range(30):
            kubectl.run("create", "secret", "generic", f"s-{i:02d}", f"--from-literal=v={i}")
            kubectl.run("create", "configmap", f"c-{i:02d}", f"--from-literal=v={i}")
        cluster.config_file(0).write_text(HAND_WRITTEN)
        wait_until(lambda: _reloaded(cluster))
        assert set(_under(cluster).values()) == {"identity"}
        checkpoint = cluster.base / "rewrite.checkpoint"
        proc = subprocess.run(
            [
                *kcrypt_command(),
                "rewrite",
                "--kubeconfig",
                str(cluster.servers[0].kubeconfig),
                "--resources",
                "secrets,configmaps",
                "--checkpoint",
                str(checkpoint),
                "--concurrency",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert "rewrote secrets, configmaps: 60 objects examined, 60 rewritten" in proc.stdout
        assert set(_under(cluster).values()) == {"by-hand"}
        assert not checkpoint.exists(), "a finished pass leaves no checkpoint"
        # a second pass finds nothing stale: unchanged PUTs write nothing
        again = subprocess.run(
            [
                *kcrypt_command(),
                "rewrite",
                "--kubeconfig",
                str(cluster.servers[0].kubeconfig),
                "--resources",
                "secrets,configmaps",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "60 objects examined, 0 rewritten, 60 already current" in again.stdout
    finally:
        cluster.stop()


def test_unknown_resource_is_an_error_line(tmp_path_factory: pytest.TempPathFactory) -> None:
    require_tools("kubectl")
    cluster = RkeCluster.start(tmp_path_factory.mktemp("rke-rewrite-bad"), 1)
    try:
        proc = subprocess.run(
            [
                *kcrypt_command(),
                "rewrite",
                "--kubeconfig",
                str(cluster.servers[0].kubeconfig),
                "--resources",
                "deployments.apps",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1
        assert proc.stderr == "Error: the API server serves none of: deployments.apps\n"
    finally:
        cluster.stop()


def _reloaded(cluster: RkeCluster) -> bool:
    return cluster.loaded_hash(0) == config_hash(cluster.config_file(0).read_bytes())


def _under(cluster: RkeCluster) -> dict[str, str]:
    keys = {("aesgcm", "by-hand"): KEY}
    return {k: key_under(v, k, keys) for k, v in cluster.raw().items()}
