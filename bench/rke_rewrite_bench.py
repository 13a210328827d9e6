"""``kcrypt rewrite`` vs ``kubectl get secrets -A -o json | kubectl replace -f -``, same run.

    .venv/bin/python bench/rke_rewrite_bench.py              # 20,000 secrets
    .venv/bin/python bench/rke_rewrite_bench.py -n 5000

One ``kcrypt server`` on SQLite (data dir on the real disk) loads its config from
``--encryption-provider-config`` (reloaded every 0.2 s), as ``kcrypt up`` drives it:

1. N ~1 KiB secrets are written into the store as kube-apiserver stores them,
   in plaintext (identity), with the server stopped;
2. the config is changed to aescbc key ``one`` first; once /metrics shows the new
   hash, ``kcrypt rewrite --kubeconfig ... --resources secrets`` (real CLI,
   default page 500, concurrency 16) moves every value to ``one``;
3. the config is changed to aescbc key ``two`` first (``one`` second); once
   loaded, the documented kubectl procedure moves every value to ``two``.

Both are timed wall-clock from process start to exit and checked on the raw
store (sqlite3): every value must be under the new key. The ratio is
kcrypt's rate over kubectl's, measured minutes apart on the same store.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from e2e.harness import KcryptServer, Kubectl, kcrypt_command, wait_until  # noqa: E402
from e2e.secrets_support import seed_store, sqlite_secrets  # noqa: E402

from kcrypt.config import config_hash  # noqa: E402

IDENTITY = b"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - identity: {}
"""


def new_secret() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def config(*keys: tuple[str, str]) -> bytes:
    """aescbc with ``(name, secret)`` keys (the first writes), then identity, for secrets."""
    listed = "".join(f"      - name: {n}\n        secret: {s}\n" for n, s in keys)
    head = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
    body = "- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n"
    return (head + body + listed + "  - identity: {}\n").encode()


def loaded(server: KcryptServer, data: bytes) -> bool:
    with server.client() as c:
        return config_hash(data) in c.get("/metrics").text


def under(db: Path, name: str) -> int:
    prefix = f"k8s:enc:aescbc:v1:{name}:".encode()
    return sum(1 for v in sqlite_secrets(db).values() if v.startswith(prefix))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20_000)
    args = ap.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory(prefix="kcrypt-rke-bench-", dir="/var/tmp") as d:
        base = Path(d)
        enc = base / "encryption.yaml"
        enc.write_bytes(IDENTITY)
        server_args = ["--encryption-provider-config", str(enc), "--reload-interval", "0.2"]
        server = KcryptServer(base / "data", args=server_args).start()
        server.stop()
        db = base / "data" / "server" / "db" / "state.db"
        asyncio.run(seed_store(f"sqlite://{db}", IDENTITY, n))
        server = KcryptServer(base / "data", args=server_args, port=server.port).start()
        try:
            first = ("one", new_secret())
            one = config(first)
            enc.write_bytes(one)
            wait_until(lambda: loaded(server, one), timeout=60)
            t0 = time.monotonic()
            command = ["rewrite", "--kubeconfig", str(server.kubeconfig), "--resources", "secrets"]
            proc = subprocess.run([*kcrypt_command(), *command], capture_output=True, text=True)
            kcrypt_wall = time.monotonic() - t0
            assert proc.returncode == 0, proc.stderr
            assert under(db, "one") == n, "kcrypt rewrite left values behind"

            two = config(("two", new_secret()), first)
            enc.write_bytes(two)
            wait_until(lambda: loaded(server, two), timeout=60)
            kubectl = Kubectl(server.kubeconfig, base / "kubectl-cache")
            get = " ".join(kubectl.argv("get", "secrets", "-A", "-o", "json"))
            replace = " ".join(kubectl.argv("replace", "-f", "-"))
            t0 = time.monotonic()
            done = subprocess.run(
                f"{get} | {replace}", shell=True, env=kubectl.env(), capture_output=True
            )
            kubectl_wall = time.monotonic() - t0
            assert done.returncode == 0, done.stderr[-2000:]
            assert under(db, "two") == n, "kubectl replace left values behind"
        finally:
            server.stop()
    kr, kc = n / kcrypt_wall, n / kubectl_wall
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"# {stamp}, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print(
        "| secrets | kcrypt rewrite s | secrets/s | kubectl get \\| replace s | secrets/s | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    row = [f"{n:,}", f"{kcrypt_wall:.1f}", f"{kr:,.0f}", f"{kubectl_wall:.1f}", f"{kc:,.0f}"]
    print("| " + " | ".join(row) + f" | {kr / kc:.1f}x |")


if __name__ == "__main__":
    main()
