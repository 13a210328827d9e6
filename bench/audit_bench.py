"""The offline audit rate on SQLite, this tree against a baseline tree, same store, same run.

One store of N secrets (~1 KiB, aescbc, as kube-apiserver writes them) with a
tenth of them rewritten once, so the audit also reads history. Then, in
alternating rounds, a child process per tree (``PYTHONPATH=<tree>/src``) opens
the file read-only and runs ``audit_store`` with history, as
``kcrypt audit --datastore`` does; each reports values/s (current values +
history rows, over the whole call) and the raw range scan of the same file.
Last, the wall time of ``kcrypt audit --datastore ... -o json`` from this tree,
process start included.

    .venv/bin/python bench/audit_bench.py [-n 100000] [--rounds 3] [--baseline c4e92d7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


async def measure(url: str, config_path: str) -> dict[str, float]:
    """In the child: the raw scan, then the audit, of the store at ``url``."""
    from kcrypt.audit import audit_store, load_audit_config
    from kcrypt.datastore import open_datastore

    ds = await open_datastore(url, read_only=True)
    try:
        revision = await ds.revision()
        start = time.perf_counter()
        after: str | None = None
        scanned = 0
        while True:
            page = await ds.range("/registry/", start_after=after, limit=1000, revision=revision)
            scanned += len(page.kvs)
            if not page.more:
                break
            after = page.kvs[-1].key
        scan = time.perf_counter() - start
        config = load_audit_config(Path(config_path).read_bytes(), source="bench")
        start = time.perf_counter()
        report = await audit_store(
            ds, config.transformers, known_names=config.known_names, config_hash=config.hash
        )
        audit = time.perf_counter() - start
    finally:
        await ds.close()
    audited = report.values + report.history_values
    return {"scan": scanned / scan, "audit": audited / audit, "audited": audited}


async def build(url: str, n: int) -> bytes:
    """The store, and the config bytes that read it."""
    sys.path.insert(0, str(REPO / "bench"))
    import snapshot_bench as sb

    from kcrypt.datastore import PutIf, open_datastore

    items = sb.values(n)
    ds = await open_datastore(url)
    try:
        written: list[int] = []
        for i in range(0, n, 500):
            done = await ds.txn_put([PutIf(k, v, 0) for k, v in items[i : i + 500]])
            written += done.revisions
        again = [PutIf(k, v, rev) for (k, v), rev in list(zip(items, written, strict=True))[::10]]
        for i in range(0, len(again), 500):
            await ds.txn_put(again[i : i + 500])
    finally:
        await ds.close()
    config: bytes = sb.CONFIG
    return config


def child(tree: Path, url: str, config: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", url, str(config)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(asyncio.run(measure(sys.argv[2], sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default="c4e92d7", help="git ref measured alongside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kcrypt-audit-bench-", dir="/var/tmp") as d:
        work = Path(d)
        url = f"sqlite://{work}/state.db"
        config = work / "config.json"
        config.write_bytes(asyncio.run(build(url, args.n)))
        from api_bench import unpack

        base = Path(unpack(args.baseline, work / "baseline")).parent
        rows: dict[str, list[dict[str, float]]] = {"this tree": [], args.baseline: []}
        for _ in range(args.rounds):
            load = os.getloadavg()[0]
            for name, tree in (("this tree", REPO), (args.baseline, base)):
                result = child(tree, url, config)
                result["load"] = load
                rows[name].append(result)
        start = time.perf_counter()
        command = [str(REPO / ".venv/bin/kcrypt"), "audit", "--datastore", str(work / "state.db")]
        cli = subprocess.run(
            [*command, "--config", str(config), "-o", "json"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    audited = int(rows["this tree"][0]["audited"])
    print(f"values audited per run: {audited:,} ({args.n:,} current + history)")
    print("| tree | audit values/s (each round) | median | raw scan values/s (median) | load |")
    print("|---|---|---:|---:|---|")
    for name, results in rows.items():
        rates = ", ".join(f"{r['audit']:,.0f}" for r in results)
        loads = ", ".join(f"{r['load']:.2f}" for r in results)
        print(
            f"| {name} | {rates} | {statistics.median(r['audit'] for r in results):,.0f} | "
            f"{statistics.median(r['scan'] for r in results):,.0f} | {loads} |"
        )
    mine = statistics.median(r["audit"] for r in rows["this tree"])
    theirs = statistics.median(r["audit"] for r in rows[args.baseline])
    print(f"\nthis tree / {args.baseline}: {mine / theirs:.2f}x")
    print(f"`kcrypt audit --datastore ... -o json` wall: {wall:.2f} s (exit {cli.returncode})")


if __name__ == "__main__":
    main()
