"""Re-encryption throughput: secrets/s and peak RSS next to the store's raw batched write rate.

Usage: .venv/bin/python bench/reencrypt_bench.py [-n 100000] [--endpoint URL ...] [--page 1000]

For each endpoint (default: a fresh SQLite file in a temp dir): load N
secret-sized values (~1 KiB, aescbc under key k0), measure the raw batched
write rate (txn_put of pages of already-encrypted values over the same keys,
no crypto), then re-encrypt everything to k1 with the engine and report
secrets/s, the ratio to the raw rate, and peak RSS (getrusage ru_maxrss).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import tempfile
import time

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import Reencryptor, Target, render_config, transformer_for
from kcrypt.encryption.keys import new_key
from kcrypt.encryption.model import KeyConfig, ProviderKeys

PREFIX = "/registry/secrets/"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def load(ds: Datastore, n: int, config: bytes, page: int) -> list[str]:
    tf = transformer_for(config)
    keys = [f"{PREFIX}ns{i % 50}/secret-{i:07d}" for i in range(n)]
    body = os.urandom(700)
    for start in range(0, n, page):
        puts = [
            PutIf(k, tf.to_storage(b"k8s\x00" + body + k.encode(), context=k.encode()), 0)
            for k in keys[start : start + page]
        ]
        await ds.txn_put(puts)
    return keys


async def raw_write_rate(ds: Datastore, n: int, page: int) -> float:
    """Rewrite every value with its own bytes in compared batches, no crypto: the ceiling."""
    t0 = time.perf_counter()
    after: str | None = None
    done = 0
    while True:
        p = await ds.range(PREFIX, start_after=after, limit=page)
        if not p.kvs:
            break
        await ds.txn_put([PutIf(kv.key, kv.value, kv.mod_revision) for kv in p.kvs])
        done += len(p.kvs)
        after = p.kvs[-1].key
        if not p.more:
            break
    return done / (time.perf_counter() - t0)


async def bench(url: str, n: int, page: int) -> dict[str, float | str]:
    ds = await open_datastore(url)
    try:
        k0 = new_key("aescbc")
        old = KeyConfig((ProviderKeys("aescbc", (k0,)), ProviderKeys("identity")))
        k1 = new_key("aescbc", config=old)
        new = KeyConfig((ProviderKeys("aescbc", (k1, k0)), ProviderKeys("identity")))
        await load(ds, n, render_config(old), page)
        rss_loaded = rss_mib()
        raw = await raw_write_rate(ds, n, page)
        data = render_config(new)
        target = Target(PREFIX, transformer_for(data), new.write_prefix)
        engine = Reencryptor(ds, [target], config_hash="bench", page_size=page)
        t0 = time.perf_counter()
        result = await engine.run(resume=False)
        secs = time.perf_counter() - t0
        assert result.rewritten == n, result
        return {
            "endpoint": ds.endpoint,
            "n": n,
            "seconds": secs,
            "rate": n / secs,
            "raw": raw,
            "rss_loaded": rss_loaded,
            "rss_peak": rss_mib(),
        }
    finally:
        await ds.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--page", type=int, default=1000)
    ap.add_argument("--endpoint", action="append", default=[])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = args.endpoint or [f"sqlite:///{tmp}/state.db"]
        print(
            f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
        )
        print(
            "| store | secrets | re-encrypt s | secrets/s | raw batched writes/s | ratio "
            "| RSS after load MiB | peak RSS MiB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for url in urls:
            r = asyncio.run(bench(url, args.n, args.page))
            print(
                f"| {str(r['endpoint']).split('://')[0]} | {r['n']:,} | {r['seconds']:.2f} "
                f"| {r['rate']:,.0f} | {r['raw']:,.0f} | {float(r['rate']) / float(r['raw']):.2f} "
                f"| {r['rss_loaded']:.0f} | {r['rss_peak']:.0f} |"
            )


if __name__ == "__main__":
    main()
