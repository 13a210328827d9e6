"""``kcrypt rewrite --kubeconfig FILE``: the rewrite pass on its own, on any cluster.

The operator changes the API server's config file by hand (a new write key);
``kcrypt rewrite`` then moves every stored value to it, through the API only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess

from e2e.harness import kcrypt_command, wait_until

from kcrypt.config import config_hash
from kcrypt.rke import RewriteResult, RewriteSettings
from kcrypt.rke.checkpoint import Checkpoint
from kcrypt.rke.discovery import resolve_rules
from kcrypt.rke.kube import async_client, load_kubeconfig
from kcrypt.rke.ratelimit import Clock
from kcrypt.rke.rewrite import rewrite

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


def test_conflict_is_retried_and_notfound_skipped(single: RkeCluster) -> None:
    """Between the list and the PUTs one secret changes and one is deleted: the changed one
    is read again and rewritten, the deleted one is skipped, nothing fails."""
    cluster = single
    kubectl = cluster.kubectl()
    for i in range(6):
        kubectl.run("create", "secret", "generic", f"s-{i}", f"--from-literal=v={i}")
    cluster.config_file(0).write_text(HAND_WRITTEN)
    wait_until(lambda: _reloaded(cluster))
    server = cluster.servers[0]
    changed: list[str] = []
    now = [0.0]  # a clock that moves only when the rate limiter sleeps

    async def meddle(seconds: float) -> None:
        """The rate limiter's sleep: runs after the page was listed, before most PUTs."""
        now[0] += seconds
        if not changed:
            with server.client() as c:
                path = "/api/v1/namespaces/default/secrets"
                body = c.get(f"{path}/s-5").json()
                body["data"] = {"v": base64.b64encode(b"changed").decode()}
                assert c.put(f"{path}/s-5", json=body).status_code == 200
                assert c.delete(f"{path}/s-4").status_code == 200
            changed.append("s-5")
        await asyncio.sleep(0)

    async def run() -> RewriteResult:
        access = load_kubeconfig(server.kubeconfig)
        async with async_client(access) as client:
            refs = await resolve_rules(client, ["secrets"])
        return await rewrite(
            access,
            refs,
            settings=RewriteSettings(concurrency=1, rate_limit=200),
            checkpoint=Checkpoint(None, id="test"),
            clock=Clock(now=lambda: now[0], sleep=meddle),
        )

    result = asyncio.run(run())
    assert changed
    assert (result.done, result.conflicts, result.missing) == (6, 1, 1)
    under = _under(cluster)
    assert "/registry/secrets/default/s-4" not in under
    assert set(under.values()) == {"by-hand"}
    got = kubectl.json("get", "secret", "s-5")["data"]["v"]
    assert base64.b64decode(got) == b"changed"
