"""Raw datastore rates: batched writes and paged range scans.

    .venv/bin/python bench/datastore_bench.py                 # a temp SQLite file
    .venv/bin/python bench/datastore_bench.py memory://
    .venv/bin/python bench/datastore_bench.py etcd://127.0.0.1:2379 --keys 20000

Writes ``--keys`` keys (default 100,000) with ``--value-size`` byte values
(1 KiB) through ``txn_put`` in batches of ``--batch`` (500), then reads them
all back with ``range`` pages of ``--page`` (500) at a pinned revision.
Keys go under a fresh prefix, so a shared etcd can be used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid

from kcrypt.datastore import PutIf, open_datastore, redact


async def run(url: str, *, keys: int, batch: int, page: int, value_size: int) -> None:
    ds = await open_datastore(url)
    prefix = f"/bench/{uuid.uuid4().hex}/"
    value = os.urandom(value_size)
    try:
        t0 = time.perf_counter()
        for start in range(0, keys, batch):
            puts = [
                PutIf(f"{prefix}{i:08d}", value, 0) for i in range(start, min(keys, start + batch))
            ]
            res = await ds.txn_put(puts)
            assert all(res.succeeded)
        write_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        seen, after, revision = 0, None, 0
        while True:
            p = await ds.range(prefix, start_after=after, limit=page, revision=revision)
            seen += len(p.kvs)
            revision = p.revision
            if not p.more:
                break
            after = p.kvs[-1].key
        scan_s = time.perf_counter() - t0
        assert seen == keys, (seen, keys)
    finally:
        await ds.close()
    print(f"endpoint      {redact(url)}")
    print(f"keys          {keys} x {value_size} B values")
    print(f"txn_put       {keys / write_s:,.0f} puts/s (batches of {batch}, {write_s:.2f} s)")
    print(f"range scan    {keys / scan_s:,.0f} keys/s (pages of {page}, {scan_s:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", nargs="?", help="default: a temp SQLite file")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--value-size", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kcrypt-bench-") as tmp:
        url = args.endpoint or f"sqlite://{tmp}/state.db"
        asyncio.run(
            run(url, keys=args.keys, batch=args.batch, page=args.page, value_size=args.value_size)
        )


if __name__ == "__main__":
    main()
