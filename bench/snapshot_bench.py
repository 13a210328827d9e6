"""Snapshot save and restore of N secrets, and the offline audit rate.

    .venv/bin/python bench/snapshot_bench.py                 # SQLite and 1-member etcd, 100k
    .venv/bin/python bench/snapshot_bench.py --stores sqlite -n 20000

Per store: N ~1 KiB secrets written as kube-apiserver stores them (aescbc) plus
the token-sealed encryption state, then, in the same run:

* ``image``: the engine's own image alone (``Datastore.snapshot``: SQLite's
  one-step backup, etcd's Maintenance Snapshot stream) -- the floor of a save;
* ``save``: ``kcrypt.snapshot.save_snapshot`` (image + the manifest read from
  the image + the archive and its SHA-256);
* ``raw writes``: N values ``txn_put`` into an empty store, 500 per call -- the
  floor of a restore;
* ``restore``: ``restore_snapshot`` into an empty store (checksum, every value
  decrypted, the load, the state record, compaction);
* ``raw scan``: every value ranged in pages of 1000, nothing decrypted -- the
  floor of an audit;
* ``audit``: ``audit_store`` with the config, history included (SQLite: the
  file opened read-only, as ``kcrypt audit --datastore`` does): values
  decrypted and counted per second.

SQLite files live under /var/tmp (a real disk); etcd members come from
``tests/etcd_cluster.py`` with their data on the real disk too.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from etcd_cluster import EtcdCluster  # noqa: E402

from kcrypt.audit import audit_store, load_audit_config  # noqa: E402
from kcrypt.codec import encode_storage, storage_key  # noqa: E402
from kcrypt.datastore import Datastore, PutIf, open_datastore  # noqa: E402
from kcrypt.encryption import (  # noqa: E402
    STATE_KEY,
    ConfigKey,
    EncryptionState,
    KeyConfig,
    ProviderKeys,
    Stage,
    StateStore,
    config_sha256,
    render_config,
    transformer_for,
)
from kcrypt.encryption.sealing import TokenSealer  # noqa: E402
from kcrypt.sensitive import SecretBytes  # noqa: E402
from kcrypt.snapshot import keys_at_hand, known_keys, restore_snapshot, save_snapshot  # noqa: E402

TOKEN = "bench-token-" + "1" * 40
CONFIG = render_config(
    KeyConfig(
        (
            ProviderKeys("aescbc", (ConfigKey("k0", SecretBytes(os.urandom(32))),)),
            ProviderKeys("identity"),
        )
    )
)


def values(n: int) -> list[tuple[str, bytes]]:
    tf = transformer_for(CONFIG)
    out = []
    for i in range(n):
        key = storage_key("secrets", "default" if i % 2 else "kube-system", f"s-{i:06d}")
        obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"s-{i:06d}", "namespace": "default", "uid": f"u{i}"},
            "data": {"v": base64.b64encode(b"v" * 900).decode()},
        }
        out.append((key, tf.to_storage(encode_storage(obj), context=key.encode())))
    return out


async def write(ds: Datastore, items: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for i in range(0, len(items), 500):
        await ds.txn_put([PutIf(k, v, 0) for k, v in items[i : i + 500]])
    return time.perf_counter() - start


async def run(kind: str, source_url: str, target_url: str, work: Path, n: int) -> dict[str, float]:
    items = values(n)
    ds = await open_datastore(source_url)
    result: dict[str, float] = {}
    try:
        await write(ds, items)
        store = StateStore(ds, sealer=TokenSealer(TOKEN, record_key=STATE_KEY))
        await store.save(
            EncryptionState(
                config=CONFIG,
                stage=Stage.START,
                config_hash=config_sha256(CONFIG),
                provider="aescbc",
            ),
            mod_revision=0,
        )
        start = time.perf_counter()
        await ds.snapshot(work / "image")
        result["image"] = time.perf_counter() - start
        keys = await keys_at_hand(ds, token=TOKEN, config=CONFIG)
        start = time.perf_counter()
        saved = await save_snapshot(
            ds, directory=work, name="bench", node=kind, reason="bench", keys=keys
        )
        result["save"] = time.perf_counter() - start
        result["size_mib"] = saved.size / 2**20
    finally:
        await ds.close()
    raw = await open_datastore(target_url + ("-raw" if kind == "sqlite" else ""))
    try:
        result["raw_writes"] = await write(raw, items) if kind == "sqlite" else 0.0
    finally:
        await raw.close()
    target = await open_datastore(target_url)
    try:
        start = time.perf_counter()
        await restore_snapshot(
            saved.path,
            target,
            token=TOKEN,
            keys=known_keys(),
            current_config=None,
            provider="aescbc",
            node=kind,
            snapshot_dir=None,
        )
        result["restore"] = time.perf_counter() - start
    finally:
        await target.close()
    audit_url = source_url
    ds = await open_datastore(audit_url, **({"read_only": True} if kind == "sqlite" else {}))
    try:
        config = load_audit_config(CONFIG, source="bench")
        start = time.perf_counter()
        after: str | None = None
        while True:
            page = await ds.range("/registry/", start_after=after, limit=1000)
            if not page.more:
                break
            after = page.kvs[-1].key
        result["scan"] = time.perf_counter() - start
        start = time.perf_counter()
        report = await audit_store(
            ds, config.transformers, known_names=config.known_names, config_hash=config.hash
        )
        result["audit"] = time.perf_counter() - start
        result["audited"] = report.values + report.history_values
    finally:
        await ds.close()
    return result


async def etcd_raw_writes(url: str, n: int) -> float:
    ds = await open_datastore(url)
    try:
        return await write(ds, values(n))
    finally:
        await ds.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "etcd"])
    args = parser.parse_args()
    print(f"secrets: {args.n}; load: {os.getloadavg()[0]:.2f}", flush=True)
    print(
        "| store | image s | save s | save/s | archive MiB | raw writes/s | restore s | "
        "restore/s | raw scan/s | audit values/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.stores:
        with tempfile.TemporaryDirectory(prefix="kcrypt-snap-bench-", dir="/var/tmp") as d:
            work = Path(d)
            if kind == "sqlite":
                r = asyncio.run(
                    run(kind, f"sqlite://{work}/a.db", f"sqlite://{work}/b.db", work, args.n)
                )
            else:
                with EtcdCluster(1, work / "src") as a, EtcdCluster(1, work / "dst") as b:
                    r = asyncio.run(run(kind, a.url, b.url, work, args.n))
                with EtcdCluster(1, work / "raw") as c:
                    r["raw_writes"] = asyncio.run(etcd_raw_writes(c.url, args.n))
            n = args.n
            print(
                f"| {kind} | {r['image']:.2f} | {r['save']:.2f} | {n / r['save']:,.0f} | "
                f"{r['size_mib']:.0f} | {n / r['raw_writes']:,.0f} | {r['restore']:.2f} | "
                f"{n / r['restore']:,.0f} | {n / r['scan']:,.0f} | "
                f"{r['audited'] / r['audit']:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
