"""Re-encryption on a 3-member etcd cluster through 3 ``kcrypt server`` processes.

    .venv/bin/python bench/ha_bench.py                 # 20k and 100k secrets
    .venv/bin/python bench/ha_bench.py --sizes 20000

For each size, in one run:

1. a 3-member etcd cluster (``tests/etcd_cluster.py``, data on the real disk
   under /var/tmp, fsync on, raft timers heartbeat 100 ms / election 1 s) and
   three servers ``s1``..``s3`` on it (same token, ``--secrets-encryption``,
   default lease TTL and sync interval), converged;
2. N ~1 KiB secrets written into etcd as kube-apiserver stores them (aescbc
   under the cluster's first key);
3. the store's raw batched write rate over those values (pages of 1000 ranged
   and ``txn_put`` back unchanged, compared on mod_revision; no crypto);
4. ``kcrypt secrets-encrypt rotate-keys`` on s1 (real CLI): the new key is
   added reading-only, every server applies it, it becomes the write key,
   every server applies that, the elected server re-encrypts, the old key is
   removed, every server applies that. Reported: the pass rate of the server
   that ran it (its ``kcrypt_reencrypt_*`` gauges), which server that was, and
   the CLI's wall time for the whole procedure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE)]

from e2e.secrets_support import seed_store  # noqa: E402
from etcd_cluster import EtcdCluster  # noqa: E402
from ha.harness import HACluster  # noqa: E402
from secrets_encrypt_bench import raw_write_rate  # noqa: E402


def run_one(n: int, base: Path) -> tuple[float, float, float, str]:
    with EtcdCluster(3, base / "etcd", heartbeat_ms=100, election_ms=1000) as etcd:
        ha = HACluster.start(etcd, base / "servers")
        try:
            ha.wait_converged()
            config = ha.servers[0].data_dir / "server" / "cred" / "encryption-config.json"
            asyncio.run(seed_store(etcd.url, config.read_bytes(), n))
            raw = asyncio.run(raw_write_rate(etcd.url))
            t0 = time.perf_counter()
            ha.cli(0).run("rotate-keys", timeout=900)
            wall = time.perf_counter() - t0
            ha.wait_converged()
            best = (0.0, "")
            for s in ha.servers:
                done = s.metric("kcrypt_reencrypt_done_objects") or 0
                rate = s.metric("kcrypt_reencrypt_rate_objects_per_second") or 0
                if done >= n and rate > best[0]:
                    best = (rate, s.data_dir.name)
            return best[0], wall, raw, best[1]
        finally:
            ha.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    args = ap.parse_args()
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(
        "| secrets | pass secrets/s | ran on | rotate-keys CLI wall s | raw batched writes/s "
        "| pass / raw |"
    )
    print("|---:|---:|---|---:|---:|---:|", flush=True)
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="kcrypt-ha-bench-", dir="/var/tmp") as d:
            rate, wall, raw, node = run_one(n, Path(d))
        print(
            f"| {n:,} | {rate:,.0f} | {node} | {wall:.1f} | {raw:,.0f} | {rate / raw:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
