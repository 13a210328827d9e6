"""Failures in the middle of an HA rotation: the re-encryption runner is SIGKILLed and
an etcd member is stopped while 20k secrets are being rewritten; another server
takes the runner's lease, resumes from the checkpoint and finishes."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import wait_until
from e2e.secrets_support import config_on_disk, keys_in_status, seed_store
from etcd_cluster import EtcdCluster, etcd_available, fast_dir

from kcrypt.encryption import transformer_for

from .harness import HACluster, assert_raw_under

N = 20_000


@pytest.fixture
def private_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    if not etcd_available():
        pytest.skip("needs /usr/bin/etcd")
    base = fast_dir("ha-failover", tmp_path_factory)
    try:
        with EtcdCluster(3, base) as cluster:
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


def etcd_get(endpoints: str, key: str) -> bytes | None:
    out = subprocess.run(
        ["etcdctl", f"--endpoints={endpoints}", "get", key, "--print-value-only"],
        capture_output=True,
        timeout=30,
    )
    return out.stdout.rstrip(b"\n") or None if out.returncode == 0 else None


def test_runner_killed_and_etcd_member_stopped_mid_rotation(
    private_etcd: EtcdCluster, tmp_path: Path
) -> None:
    etcd = private_etcd
    ha = HACluster.start(etcd, tmp_path)
    try:
        ha.wait_converged()
        old = config_on_disk(ha.servers[0])
        expected = asyncio.run(seed_store(etcd.url, old, N))
        endpoints = ha.endpoints

        with ha.servers[0].client() as c:
            r = c.put(
                "/v1-kcrypt/encrypt/config",
                json={"stage": "rotate_keys", "force": False, "skip": False},
            )
        assert r.status_code == 200, r.text

        def progressed() -> bytes | None:
            raw = etcd_get(endpoints, "/kcrypt/reencrypt/checkpoint")
            if raw is None:
                return None
            ckpt = json.loads(raw)
            return raw if 2_000 <= ckpt["done"] < N and not ckpt["finished"] else None

        wait_until(progressed, timeout=60, interval=0.05)
        holder = etcd_get(endpoints, "/kcrypt/reencrypt/lease")
        assert holder in (b"s1", b"s2", b"s3")
        runner = int(holder.decode()[1]) - 1
        victim = ha.servers[runner].process
        assert victim is not None
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        member = (etcd.leader() + 1) % 3
        etcd.kill(member, signal.SIGTERM)

        survivor = ha.cli((runner + 1) % 3)
        doc = survivor.wait_stage("reencrypt_finished", timeout=120)
        new_holder = etcd_get(endpoints, "/kcrypt/reencrypt/lease")
        assert new_holder != holder  # resigned after finishing, or still another server
        log = "".join(s.log() for i, s in enumerate(ha.servers) if i != runner)
        assert "resuming re-encryption" in log

        etcd.restart(member)
        ha.servers[runner].start()  # the killed server comes back and converges
        doc = ha.wait_converged(timeout=60)
        active, names = keys_in_status(doc)
        assert names == [active]
        raw = assert_raw_under(ha, active, names)
        assert len(raw) >= N
        final = transformer_for(config_on_disk(ha.servers[runner]))
        for key, plain in expected.items():
            assert final.from_storage(raw[key], context=key.encode()).plaintext == plain
        for server in ha.servers:
            with server.client(timeout=60) as c:
                r = c.get("/api/v1/secrets", params={"limit": "500"})
                assert r.status_code == 200
                assert len(r.json()["items"]) == 500
    finally:
        ha.stop()
