"""``kill -9`` on ``kcrypt up`` mid-way, then a rerun: it converges and nothing is lost.

A rate limit in cluster.yml makes the rewrite take seconds, so the kill lands
inside it (or, for the other case, right after the first phase is deployed).
The rerun must finish the same change -- same key, no new one -- resuming the
rewrite from its checkpoint, and every secret must read back unchanged and be
stored under the new key.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time

import pytest
from e2e.harness import kcrypt_command
from e2e.secrets_support import check_readback, create_with_kubectl, secret_set

from .cluster import RkeCluster, write_key

N = 240


def _up_until(cluster: RkeCluster, marker: str, *command: str) -> str:
    """Start ``kcrypt up`` (or ``command``), SIGKILL it once ``marker`` shows; the output."""
    with subprocess.Popen(
        [*kcrypt_command(), *(command or ("up",)), "--config", str(cluster.cluster_yml)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cluster.base,
    ) as proc:
        assert proc.stdout is not None
        out = b""
        deadline = time.monotonic() + 120
        try:
            while marker.encode() not in out:
                assert time.monotonic() < deadline, out.decode()
                ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    assert chunk, f"kcrypt up ended before {marker!r}:\n{out.decode()}"
                    out += chunk
            if marker.startswith("[rewrite] secrets"):
                time.sleep(1.0)  # well inside the rewrite: some pages done, most not
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return out.decode()


@pytest.mark.parametrize("marker", ["[rewrite] secrets", "serves with"])
def test_kill_9_then_rerun_converges_with_no_secret_lost(single: RkeCluster, marker: str) -> None:
    loaded = single
    secrets = secret_set(N, tag="kill")
    kubectl = loaded.kubectl()
    create_with_kubectl(kubectl, secrets)
    loaded.write_cluster_yml({"enabled": True}, extra={"kcrypt": {"rewrite": {"rate_limit": 60}}})
    first = _up_until(loaded, marker)
    op = loaded.state()["kcrypt"]["operation"]
    key = next(n for n in op["newKeys"])
    assert f"Generated new encryption key {key}" in first
    # the key was on disk before the kill: the state file holds it
    assert any(key in p["config"] for p in op["phases"])
    mid = loaded.keys_under()
    assert set(mid.values()) <= {"identity", key}, "a value no key in the state file reads"

    rerun = loaded.up()
    assert "resuming the change a previous run left in progress" in rerun
    assert "Generated new encryption key" not in rerun
    assert write_key(str(loaded.state()["currentState"]["encryptionConfig"]), "secrets") == key
    under = loaded.keys_under()
    assert len(under) == len(secrets) and set(under.values()) == {key}
    check_readback(kubectl, secrets)
    assert "Nothing changed" in loaded.up()


def test_rotate_key_killed_then_run_again_rotates_once(single: RkeCluster) -> None:
    secrets = secret_set(N, tag="rot")
    create_with_kubectl(single.kubectl(), secrets)
    single.write_cluster_yml({"enabled": True}, extra={"kcrypt": {"rewrite": {"rate_limit": 60}}})
    single.up()
    first = write_key(str(single.state()["currentState"]["encryptionConfig"]), "secrets")
    _up_until(single, "[rewrite] secrets", "encrypt", "rotate-key")
    (second,) = single.state()["kcrypt"]["operation"]["newKeys"]
    out = single.kcrypt("encrypt", "rotate-key").stdout
    assert "resuming" in out and "Generated new encryption key" not in out
    assert write_key(str(single.state()["currentState"]["encryptionConfig"]), "secrets") == second
    assert second != first
    assert set(single.keys_under().values()) == {second}
    check_readback(single.kubectl(), secrets)
