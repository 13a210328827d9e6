"""KMS v2 re-encryption through a real gRPC plugin, next to aescbc in the same run.

Usage: .venv/bin/python bench/kms_bench.py [-n 20000 -n 100000] [--page 1000]

For each N, on a fresh SQLite file: load N secret-sized values (~1 KiB)
under aescbc key k0, then three passes with the server's engine
(:class:`kcrypt.encryption.Reencryptor`) over the whole store:

1. ``aescbc``: k0 -> k1 (the baseline);
2. ``kms v2 (from aescbc)``: k1 -> a KMS v2 provider served by
   ``kcrypt kms-plugin serve --backend keyfile`` in its own process, over
   its unix socket, with the server's gRPC clients, probes and loop bridge;
3. ``kms v2, key ID 1 -> 2, fresh server``: ``kcrypt kms-plugin rotate``,
   then a second set of providers (a server started after the rotation, so
   its DEK cache is empty) re-encrypts KMS v2 key ID 1 -> key ID 2.

Each row reports secrets/s, the ratio to the aescbc pass of the same run and
every plugin call that server made from its first probe to the end of the
pass (the server's ``apiserver_envelope_encryption_kms_operations_latency_seconds``
counts): one Encrypt per DEK seed, one Decrypt per old seed, never one per
secret.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from kcrypt.config import build_transformers, load
from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import Reencryptor, Target, render_config, transformer_for
from kcrypt.encryption.keys import new_key
from kcrypt.encryption.model import KeyConfig, ProviderKeys
from kcrypt.envelope import Transformer
from kcrypt.envelope.provider import PrefixChain
from kcrypt.kms import EnvelopeMetrics, KMSProviders

PREFIX = "/registry/secrets/"
KCRYPT = [str(Path(sys.executable).with_name("kcrypt"))]


def kms_config(endpoint: str, fallback: bytes) -> bytes:
    """KMS v2 first, then the aescbc provider of ``fallback`` (to read the old values)."""
    import json

    doc = json.loads(fallback)
    providers = doc["resources"][0]["providers"]
    kms = {"kms": {"apiVersion": "v2", "name": "bench", "endpoint": endpoint, "timeout": "3s"}}
    doc["resources"][0]["providers"] = [kms, *providers]
    return json.dumps(doc).encode()


async def load_values(ds: Datastore, n: int, tf: Transformer, page: int) -> None:
    body = os.urandom(700)
    keys = [f"{PREFIX}ns{i % 50}/secret-{i:07d}" for i in range(n)]
    for start in range(0, n, page):
        puts = [
            PutIf(k, tf.to_storage(b"k8s\x00" + body + k.encode(), context=k.encode()), 0)
            for k in keys[start : start + page]
        ]
        await ds.txn_put(puts)


def calls(registry: CollectorRegistry) -> dict[str, int]:
    out: dict[str, int] = {}
    for metric in registry.collect():
        if metric.name != "apiserver_envelope_encryption_kms_operations_latency_seconds":
            continue
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                method = sample.labels["method_name"].rsplit("/", 1)[-1]
                out[method] = out.get(method, 0) + int(sample.value)
    return out


def diff(after: dict[str, int], before: dict[str, int]) -> str:
    parts = [f"{m} {after[m] - before.get(m, 0)}" for m in sorted(after)]
    return ", ".join(p for p in parts if not p.endswith(" 0")) or "none"


async def run_pass(ds: Datastore, tf: Transformer, n: int, page: int, tag: str) -> float:
    assert isinstance(tf, PrefixChain)
    engine = Reencryptor(ds, [Target(PREFIX, tf, tf.write_prefix)], config_hash=tag, page_size=page)
    t0 = time.perf_counter()
    result = await engine.run(resume=False)
    secs = time.perf_counter() - t0
    assert result.rewritten == n, result
    return secs


async def bench(tmp: Path, n: int, page: int) -> list[tuple[str, float, str]]:
    ds = await open_datastore(f"sqlite:///{tmp}/state-{n}.db")
    keyfile = ["--backend", "keyfile", "--key-file", str(tmp / f"keys-{n}.json")]
    socket = tmp / f"kms-{n}.sock"
    plugin = subprocess.Popen(
        [*KCRYPT, "kms-plugin", "serve", "--listen", f"unix://{socket}", *keyfile],
        stderr=subprocess.DEVNULL,
    )
    registry = CollectorRegistry()
    kms = KMSProviders(metrics=EnvelopeMetrics(registry, apiserver_id="bench"))
    registry2 = CollectorRegistry()
    kms2 = KMSProviders(metrics=EnvelopeMetrics(registry2, apiserver_id="bench-restarted"))
    rows: list[tuple[str, float, str]] = []
    try:
        k0 = new_key("aescbc")
        old = KeyConfig((ProviderKeys("aescbc", (k0,)), ProviderKeys("identity")))
        k1 = new_key("aescbc", config=old)
        new = render_config(KeyConfig((ProviderKeys("aescbc", (k1, k0)), ProviderKeys("identity"))))
        await load_values(ds, n, transformer_for(render_config(old)), page)

        secs = await run_pass(ds, transformer_for(new), n, page, "aescbc")
        rows.append(("aescbc k0 -> k1", n / secs, "-"))

        for _ in range(600):  # the plugin process is up
            if socket.exists():
                break
            await asyncio.sleep(0.1)
        else:
            raise SystemExit(f"the plugin did not start on {socket}")
        config = load(kms_config(f"unix://{socket}", new)).config
        tf = build_transformers(config, kms=kms).for_resource("secrets")
        await kms.refresh()  # primes the seed: Status + one Encrypt
        secs = await run_pass(ds, tf, n, page, "kms-1")
        rows.append(("kms v2 (from aescbc)", n / secs, diff(calls(registry), {})))

        # the KMS rotates its key; a freshly started server (empty DEK cache) re-encrypts
        subprocess.run([*KCRYPT, "kms-plugin", "rotate", *keyfile], check=True, capture_output=True)
        tf2 = build_transformers(config, kms=kms2).for_resource("secrets")
        await kms2.refresh()
        secs = await run_pass(ds, tf2, n, page, "kms-2")
        rows.append(("kms v2, key ID 1 -> 2, fresh server", n / secs, diff(calls(registry2), {})))
    finally:
        await kms.close()
        await kms2.close()
        await ds.close()
        plugin.terminate()
        plugin.wait()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, action="append", default=[])
    ap.add_argument("--page", type=int, default=1000)
    args = ap.parse_args()
    sizes = args.n or [20_000, 100_000]
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print("| secrets | pass | secrets/s | vs aescbc | plugin calls (first probe to end of pass) |")
    print("|---:|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            rows = asyncio.run(bench(Path(tmp), n, args.page))
            base = rows[0][1]
            for name, rate, plugin_calls in rows:
                print(f"| {n:,} | {name} | {rate:,.0f} | {rate / base:.2f} | {plugin_calls} |")


if __name__ == "__main__":
    main()
