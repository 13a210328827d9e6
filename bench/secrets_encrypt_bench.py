"""``secrets-encrypt rotate-keys`` through a real ``kcrypt server``: secrets/s and peak RSS.

    .venv/bin/python bench/secrets_encrypt_bench.py                  # sqlite + etcd, 20k + 100k
    .venv/bin/python bench/secrets_encrypt_bench.py --store sqlite -n 100000 --sizes 100000

For each store (SQLite file under the data dir; a single-member etcd started
with ``tests/etcd_cluster.py``, data on the real disk, fsync on) and each
size, in one run:

1. a fresh ``kcrypt server --secrets-encryption`` is started once and stopped
   (first-boot key ``aescbckey``, state record in the datastore);
2. N ~1 KiB secrets are written into the store as kube-apiserver stores them
   (storage protobuf, aescbc under ``aescbckey``);
3. the store's raw batched write rate: range pages of 1000 and ``txn_put``
   every value back unchanged, compared on its mod_revision (the same
   datastore URL and engine options the server uses; no crypto) -- the
   ceiling a re-encryption can reach on that store;
4. the server is started again and ``kcrypt secrets-encrypt rotate-keys``
   (real CLI subprocess) re-encrypts everything; reported: the pass's rate
   (``kcrypt_reencrypt_*`` gauges: values / pass time), the CLI's wall time,
   and the server process's VmRSS before and VmHWM (peak) after, read from
   ``/proc/<pid>/status``; and where the CLI's wall time went: the controller's
   steps as the server logs them (``step <action> done in <s>``: promote,
   pass, scan = the key-removal proof, remove-key, compact) and the rest
   (the CLI's own start, its polls, the servers applying each config).

Then the kubectl procedure users run instead (k3s docs, Kubernetes docs) on a
2,000-secret sample of the same store: ``prepare`` + ``rotate`` and
``kubectl get secrets -A -o json | kubectl replace -f -``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from e2e.harness import KcryptServer, Kubectl, kcrypt_command  # noqa: E402
from e2e.secrets_support import Cli, etcd_secrets, seed_store, sqlite_secrets  # noqa: E402
from etcd_cluster import EtcdCluster  # noqa: E402
from reencrypt_bench import raw_write_rate as raw_write_rate_of  # noqa: E402

from kcrypt.datastore.endpoint import open_datastore  # noqa: E402

STEP = re.compile(r"step (\S+) done in ([0-9.]+)s")


def step_times(log: str) -> dict[str, float]:
    """Seconds per controller step of the last job in the server's log."""
    out: dict[str, float] = {}
    for action, secs in STEP.findall(log):
        out[action] = out.get(action, 0.0) + float(secs)
    return out


@dataclass
class Row:
    store: str
    n: int
    pass_rate: float
    wall: float
    raw: float
    rss_before: float
    rss_peak: float
    steps: dict[str, float]


def proc_status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def raw_write_rate(url: str, page: int = 1000) -> float:
    """reencrypt_bench's compared write-back of every value, on the store at ``url``."""
    ds = await open_datastore(url)
    try:
        return await raw_write_rate_of(ds, 0, page)
    finally:
        await ds.close()


@contextmanager
def store(kind: str, base: Path) -> Iterator[tuple[list[str], str, str]]:
    """(server args, datastore URL the server uses, URL for bulk loading)."""
    if kind == "sqlite":
        db = base / "data" / "server" / "db" / "state.db"
        yield [], f"sqlite://{db}", f"sqlite://{db}"
        return
    with EtcdCluster(1, base / "etcd", heartbeat_ms=100, election_ms=1000) as cluster:
        yield ["--datastore-endpoint", cluster.url], cluster.url, cluster.url + "?txn_batch=128"


def first_boot(base: Path, args: list[str]) -> KcryptServer:
    server = KcryptServer(base / "data", args=["--secrets-encryption", *args]).start()
    server.stop()
    return server


def run_one(kind: str, n: int, base: Path) -> Row:
    with store(kind, base) as (extra, url, load_url):
        server = first_boot(base, extra)
        config = (server.data_dir / "server" / "cred" / "encryption-config.json").read_bytes()
        asyncio.run(seed_store(load_url, config, n))
        raw = asyncio.run(raw_write_rate(url))
        server = KcryptServer(server.data_dir, args=server.args, port=server.port).start()
        try:
            assert server.process is not None
            pid = server.process.pid
            rss_before = proc_status_mib(pid, "VmRSS")
            logged = len(server.log())
            t0 = time.perf_counter()
            Cli(server).ok("rotate-keys")
            wall = time.perf_counter() - t0
            rss_peak = proc_status_mib(pid, "VmHWM")
            done = server.metric("kcrypt_reencrypt_done_objects") or 0
            rewritten = server.metric("kcrypt_reencrypt_rewritten_objects") or 0
            rate = server.metric("kcrypt_reencrypt_rate_objects_per_second") or 0
            assert done == n and rewritten == n, (done, rewritten, n)
            steps = step_times(server.log()[logged:])
        finally:
            server.stop()
    return Row(kind, n, rate, wall, raw, rss_before, rss_peak, steps)


def cli_start() -> float:
    """Seconds for the CLI to start and exit (what every command pays before its work)."""
    t0 = time.perf_counter()
    subprocess.run(
        [*kcrypt_command(), "secrets-encrypt", "--help"], check=True, capture_output=True
    )
    return time.perf_counter() - t0


def kubectl_replace(kind: str, n: int, base: Path) -> tuple[float, int]:
    """secrets/s of ``kubectl get -o json | kubectl replace -f -`` after prepare + rotate."""
    with store(kind, base) as (extra, _url, load_url):
        server = first_boot(base, extra)
        config = (server.data_dir / "server" / "cred" / "encryption-config.json").read_bytes()
        asyncio.run(seed_store(load_url, config, n))
        server = KcryptServer(server.data_dir, args=server.args, port=server.port).start()
        try:
            cli = Cli(server)
            cli.ok("prepare")
            cli.ok("rotate")
            active = cli.status()["activekey"].partition(" ")[2]
            kubectl = Kubectl(server.kubeconfig, base / "kubectl-cache")
            env = kubectl.env()
            get = " ".join(kubectl.argv("get", "secrets", "-A", "-o", "json"))
            replace = " ".join(kubectl.argv("replace", "-f", "-"))
            t0 = time.perf_counter()
            subprocess.run(
                f"{get} | {replace} > /dev/null", shell=True, check=True, env=env, timeout=600
            )
            secs = time.perf_counter() - t0
            if kind == "sqlite":
                raw = sqlite_secrets(server.data_dir / "server" / "db" / "state.db")
            else:
                raw = etcd_secrets(extra[1].removeprefix("etcd://"))
            moved = sum(v.startswith(f"k8s:enc:aescbc:v1:{active}:".encode()) for v in raw.values())
        finally:
            server.stop()
    return n / secs, moved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", action="append", choices=["sqlite", "etcd"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--replace", type=int, default=2_000, help="kubectl replace sample size")
    ap.add_argument("--no-replace", action="store_true", help="skip the kubectl sample")
    args = ap.parse_args()
    stores = args.store or ["sqlite", "etcd"]
    load = os.getloadavg()[0]
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"load {load:.1f}",
        flush=True,
    )
    print(
        "| store | secrets | rotate-keys pass secrets/s | CLI wall s | raw batched writes/s "
        "| pass / raw | server RSS before MiB | server peak RSS (VmHWM) MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    rows: list[Row] = []
    for kind in stores:
        for n in args.sizes:
            with tempfile.TemporaryDirectory(prefix="kcrypt-se-bench-", dir="/var/tmp") as d:
                r = run_one(kind, n, Path(d))
            rows.append(r)
            print(
                f"| {r.store} | {r.n:,} | {r.pass_rate:,.0f} | {r.wall:.1f} | {r.raw:,.0f} "
                f"| {r.pass_rate / r.raw:.2f} | {r.rss_before:.0f} | {r.rss_peak:.0f} |",
                flush=True,
            )
        print()
    print(f"CLI start (secrets-encrypt --help): {cli_start():.2f} s")
    print()
    print(
        "| store | secrets | CLI wall s | promote s | pass s | proof (scan) s | remove-key s "
        "| compact s | outside the pass s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        st = r.steps
        print(
            f"| {r.store} | {r.n:,} | {r.wall:.2f} | {st.get('promote', 0):.2f} "
            f"| {st.get('pass', 0):.2f} | {st.get('scan', 0):.2f} | {st.get('remove-key', 0):.2f} "
            f"| {st.get('compact', 0):.2f} | {r.wall - st.get('pass', 0):.2f} |",
            flush=True,
        )
    print()
    print("| store | kubectl replace sample | secrets/s | values moved to the new key |")
    print("|---|---:|---:|---:|", flush=True)
    for kind in [] if args.no_replace else stores:
        with tempfile.TemporaryDirectory(prefix="kcrypt-se-bench-", dir="/var/tmp") as d:
            rate, moved = kubectl_replace(kind, args.replace, Path(d))
        print(f"| {kind} | {args.replace:,} | {rate:,.0f} | {moved:,} |", flush=True)


if __name__ == "__main__":
    main()
