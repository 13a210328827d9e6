"""The cost of the storage path's KMS bridge, per value read.

Usage: .venv/bin/python bench/kms_bridge_bench.py [-n 20000]

Three rates, same run, one ~1 KiB secret value:

* ``read_row`` (sync) of an aescbc value: the storage read before this change;
* ``read_row_async`` of the same value: what every read pays now when no
  plugin call is needed (a coroutine that does not suspend);
* ``read_row_async`` of a KMS v2 value whose DEK is cached (on the loop, no
  plugin call);
* ``read_row_async`` of a KMS v1 value with ``cachesize: -1``, so that
  every read needs the plugin's Decrypt: the miss path (WouldBlock on the
  loop, the same read again on a worker thread, the gRPC call scheduled back
  on the loop) through ``kcrypt kms-plugin`` in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kcrypt.config import build_transformers, load
from kcrypt.datastore.contract import KeyValue
from kcrypt.kms import KMSProviders
from kcrypt.storage import values

KCRYPT = str(Path(sys.executable).with_name("kcrypt"))
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "s", "namespace": "default"},
    "data": {"v": "eHh4" * 256},
}


def config(endpoint: str) -> bytes:
    aescbc = {
        "aescbc": {
            "keys": [{"name": "k", "secret": "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="}]
        }
    }
    v2 = {"kms": {"apiVersion": "v2", "name": "v2", "endpoint": endpoint, "timeout": "3s"}}
    v1 = {"kms": {"name": "v1", "endpoint": endpoint, "timeout": "3s", "cachesize": -1}}
    return json.dumps(
        {
            "kind": "EncryptionConfiguration",
            "apiVersion": "apiserver.config.k8s.io/v1",
            "resources": [
                {"resources": ["secrets"], "providers": [aescbc]},
                {"resources": ["configmaps"], "providers": [v2]},
                {"resources": ["namespaces"], "providers": [v1]},
            ],
        }
    ).encode()


async def rate(n: int, read: object, *, rounds: int = 3) -> float:
    """The best of ``rounds`` runs of ``n`` reads (the machine is shared)."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            result = read()  # type: ignore[operator]
            if asyncio.iscoroutine(result):
                await result
        best = max(best, n / (time.perf_counter() - t0))
    return best


async def main_async(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        socket = Path(tmp) / "kms.sock"
        argv = [KCRYPT, "kms-plugin", "serve", "--listen", f"unix://{socket}"]
        argv += ["--backend", "keyfile", "--key-file", f"{tmp}/keys.json"]
        plugin = subprocess.Popen(
            argv,
            stderr=subprocess.DEVNULL,
        )
        kms = KMSProviders()
        try:
            while not socket.exists():
                await asyncio.sleep(0.1)
            built = build_transformers(load(config(f"unix://{socket}")).config, kms=kms)
            await kms.refresh()
            data = values.encode(dict(SECRET))
            key = "/registry/secrets/default/s"
            rows = {}
            for resource in ("secrets", "configmaps", "namespaces"):
                tf = built.for_resource(resource)
                value = await values.to_storage_async(resource, tf, key, data, metrics=None)
                rows[resource] = (tf, KeyValue(key, value, 1, 1, 1, 0))

            def sync_read(resource: str) -> object:
                tf, kv = rows[resource]
                return lambda: values.read_row(resource, tf, kv, metrics=None)

            def async_read(resource: str) -> object:
                tf, kv = rows[resource]
                return lambda: values.read_row_async(resource, tf, kv, metrics=None)

            await rate(n, sync_read("secrets"), rounds=1)  # warm-up
            results = [
                ("aescbc, read_row (sync)", await rate(n, sync_read("secrets"))),
                ("aescbc, read_row_async", await rate(n, async_read("secrets"))),
                ("kms v2, DEK cached, read_row_async", await rate(n, async_read("configmaps"))),
                (
                    "kms v1, no cache: plugin Decrypt every read",
                    await rate(n // 10, async_read("namespaces")),
                ),
            ]
        finally:
            await kms.close()
            plugin.terminate()
            plugin.wait()
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print("| read of one ~1 KiB secret | reads/s | µs/read |")
    print("|---|---:|---:|")
    for name, r in results:
        print(f"| {name} | {r:,.0f} | {1e6 / r:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20_000)
    asyncio.run(main_async(ap.parse_args().n))


if __name__ == "__main__":
    main()
