"""``kcrypt rewrite --kubeconfig FILE``: the rewrite pass on its own, on any cluster.

The operator changes the API server's config file by hand (a new write key);
``kcrypt rewrite`` then moves every stored value to it, through the API only.
"""

from __future__ import annotations

import base64
import os
import subprocess

from e2e.harness import kcrypt_command, wait_until

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


def test_rewrite_moves_every_secret_and_configmap_to_the_write_key(single: RkeCluster) -> None:
    cluster = single
    kubectl = cluster.kubectl()
    for i in range(30):
        kubectl.run("create", "secret", "generic", f"s-{i:02d}", f"--from-literal=v={i}")
        kubectl.run("create", "configmap", f"c-{i:02d}", f"--from-literal=v={i}")
    cluster.config_file(0).write_text(HAND_WRITTEN)
    wait_until(lambda: _reloaded(cluster))
    assert set(_under(cluster).values()) == {"identity"}
    checkpoint = cluster.base / "rewrite.checkpoint"
    proc = _rewrite(
        cluster, "secrets,configmaps", "--checkpoint", str(checkpoint), "--concurrency", "4"
    )
    assert proc.returncode == 0, proc.stderr
    assert "rewrote secrets, configmaps: 60 objects examined, 60 rewritten" in proc.stdout
    assert set(_under(cluster).values()) == {"by-hand"}
    assert not checkpoint.exists(), "a finished pass leaves no checkpoint"
    # a second pass finds nothing stale: unchanged PUTs write nothing
    again = _rewrite(cluster, "secrets,configmaps")
    assert "60 objects examined, 0 rewritten, 60 already current" in again.stdout


def test_unknown_resource_is_an_error_line(single: RkeCluster) -> None:
    proc = _rewrite(single, "deployments.apps")
    assert proc.returncode == 1
    assert proc.stderr == "Error: the API server serves none of: deployments.apps\n"


def _rewrite(cluster: RkeCluster, resources: str, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = str(cluster.servers[0].kubeconfig)
    return subprocess.run(
        [*kcrypt_command(), "rewrite", "--kubeconfig", kubeconfig, "--resources", resources, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _reloaded(cluster: RkeCluster) -> bool:
    return cluster.loaded_hash(0) == config_hash(cluster.config_file(0).read_bytes())


def _under(cluster: RkeCluster) -> dict[str, str]:
    keys = {("aesgcm", "by-hand"): KEY}
    return {k: key_under(v, k, keys) for k, v in cluster.raw().items()}
