"""datastore_bench.py against etcd clusters this script starts itself.

    .venv/bin/python bench/etcd_bench.py                      # 1 and 3 members
    .venv/bin/python bench/etcd_bench.py --members 3 --keys 20000 --txn-batch 1

Starts ``/usr/bin/etcd`` members with ``tests/etcd_cluster.py`` (data on the
real disk under a temp dir, default raft timers), runs the same write + scan
as ``datastore_bench.py`` through ``open_datastore(url)``, once with the
contract's default (one etcd Txn per put, so one revision per put) and once
with ``?txn_batch=128`` (puts of one Txn share its revision), then stops the
members by PID and removes their data.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from datastore_bench import run  # noqa: E402
from etcd_cluster import EtcdCluster  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, action="append", help="cluster sizes (1 and 3)")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="puts per txn_put call")
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--value-size", type=int, default=1024)
    parser.add_argument(
        "--txn-batch", type=int, action="append", help="puts per etcd Txn (1 and 128)"
    )
    args = parser.parse_args()
    for size in args.members or [1, 3]:
        for txn_batch in args.txn_batch or [1, 128]:
            with (
                tempfile.TemporaryDirectory(prefix="kcrypt-etcd-bench-") as d,
                EtcdCluster(size, Path(d), heartbeat_ms=100, election_ms=1000) as cluster,
            ):
                print(f"== etcd {size} member(s), txn_batch={txn_batch}", flush=True)
                url = f"{cluster.url}?txn_batch={txn_batch}"
                asyncio.run(
                    run(
                        url,
                        keys=args.keys,
                        batch=args.batch,
                        page=args.page,
                        value_size=args.value_size,
                    )
                )


if __name__ == "__main__":
    main()
