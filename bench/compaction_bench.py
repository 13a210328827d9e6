"""A re-encryption-shaped rewrite and the compaction that must follow it, in-process on SQLite.

    .venv/bin/python bench/compaction_bench.py -n 20000 100000

For each N, on a fresh SQLite file (the server's engine and options): N ~1 KiB
values created in pages of 1000, one open watch on the prefix (as a server has),
then every value rewritten in pages of 1000 with ``txn_put`` compared on its
mod_revision (what a pass writes, without the crypto), then
``compact_history`` (what the controller's compact step runs). Reports the
rewrite and the compaction times and the file's size before and after.
Run it on two trees to compare an engine change (``git worktree``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from kcrypt.datastore import compact_history
from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.datastore.endpoint import open_datastore

PREFIX = "/registry/secrets/bench/"
PAGE = 1000


async def _rewrite(ds: Datastore) -> None:
    last: str | None = None
    while True:
        page = await ds.range(PREFIX, limit=PAGE, start_after=last)
        if not page.kvs:
            return
        await ds.txn_put([PutIf(kv.key, os.urandom(1100), kv.mod_revision) for kv in page.kvs])
        last = page.kvs[-1].key
        if not page.more:
            return


async def one(n: int, base: Path) -> tuple[float, float, int, int]:
    db = base / f"bench-{n}.db"
    ds = await open_datastore(f"sqlite://{db}")
    seen = 0

    async def watch(start: int) -> None:
        nonlocal seen
        async for _ in ds.watch(PREFIX, start_revision=start):
            seen += 1

    try:
        value = os.urandom(1100)
        for s in range(0, n, PAGE):
            puts = [PutIf(f"{PREFIX}s{i:07d}", value, 0) for i in range(s, min(n, s + PAGE))]
            await ds.txn_put(puts)
        watcher = asyncio.create_task(watch(await ds.revision() + 1))
        t0 = time.perf_counter()
        await _rewrite(ds)
        rewrite = time.perf_counter() - t0
        size_before = db.stat().st_size
        t0 = time.perf_counter()
        await compact_history(ds)
        compact = time.perf_counter() - t0
        watcher.cancel()
    finally:
        await ds.close()
    return rewrite, compact, size_before, db.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--dir", type=Path, default=Path("/var/tmp"), help="where the files go")
    opts = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {load:.1f}")
    print("| values | rewrite s | values/s | compact s | file MiB before | after |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(dir=opts.dir) as tmp:
        for n in opts.n:
            rewrite, compact, before, after = asyncio.run(one(n, Path(tmp)))
            print(
                f"| {n:,} | {rewrite:.2f} | {n / rewrite:,.0f} | {compact:.2f} "
                f"| {before / 2**20:.0f} | {after / 2**20:.0f} |"
            )


if __name__ == "__main__":
    main()
