"""Open an etcd snapshot file as a read-only store: a private etcd member on loopback.

An etcd image is a bbolt database; rather than parse bbolt, kcrypt asks etcd
itself: ``etcdutl snapshot restore`` (``etcdctl snapshot restore`` on etcd
3.4, which has no etcdutl; either checks the sha256 trailer) into a temporary
data dir, then one ``etcd`` member on two free loopback ports serves it. The
store :func:`open_etcd_image` returns is an ordinary etcd engine whose
``close()`` also stops that member (by its PID) and removes the directory.
Keys, values and revisions are the image's; writes would only change the
temporary copy. The binaries are found on ``PATH`` (or given).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from pathlib import Path

from kcrypt.datastore.errors import CorruptStore, DatastoreError, Unavailable
from kcrypt.datastore.etcd.channel import Channels, parse_url
from kcrypt.datastore.etcd.engine import MAX_TXN_OPS, EtcdDatastore

__all__ = ["open_etcd_image"]

_START_TIMEOUT = 60.0


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _tool(name: str, given: str | None) -> str:
    found = given or shutil.which(name)
    if not found:
        raise Unavailable(f"etcd image ({name})", f"{name} is not installed (needed to read it)")
    return found


class _ImageStore(EtcdDatastore):
    """The engine over the private member; closing stops the member."""

    def __init__(
        self, channels: Channels, *, process: asyncio.subprocess.Process, workdir: Path
    ) -> None:
        super().__init__(channels, txn_batch=MAX_TXN_OPS)
        self._process = process
        self._workdir = workdir

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await _stop(self._process)
            shutil.rmtree(self._workdir, ignore_errors=True)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise CorruptStore(f"etcd image {argv[3]}", out.decode(errors="replace").strip()[-500:])
    return out.decode(errors="replace")


async def open_etcd_image(
    path: Path,
    *,
    workdir: Path | None = None,
    etcd: str | None = None,
    etcdutl: str | None = None,
) -> EtcdDatastore:
    """Serve the etcd snapshot file ``path`` from a private member (see the module doc)."""
    etcd_bin = _tool("etcd", etcd)
    restore = etcdutl or shutil.which("etcdutl") or _tool("etcdctl", None)
    base = Path(tempfile.mkdtemp(prefix="kcrypt-etcd-image-", dir=workdir))
    os.chmod(base, 0o700)
    client, peer = _free_ports(2)
    peer_url = f"http://127.0.0.1:{peer}"
    data = base / "data"
    process: asyncio.subprocess.Process | None = None
    try:
        await _run(
            restore,
            "snapshot",
            "restore",
            str(path),
            "--data-dir",
            str(data),
            "--name",
            "image",
            "--initial-cluster",
            f"image={peer_url}",
            "--initial-advertise-peer-urls",
            peer_url,
        )
        log = (base / "etcd.log").open("wb")
        with log:
            process = await asyncio.create_subprocess_exec(
                etcd_bin,
                "--name",
                "image",
                "--data-dir",
                str(data),
                "--listen-client-urls",
                f"http://127.0.0.1:{client}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{client}",
                "--listen-peer-urls",
                peer_url,
                "--initial-advertise-peer-urls",
                peer_url,
                "--initial-cluster",
                f"image={peer_url}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        store = await _connect(f"etcd://127.0.0.1:{client}", process, base)
    except BaseException:
        if process is not None:
            await _stop(process)
        shutil.rmtree(base, ignore_errors=True)
        raise
    return store


async def _connect(url: str, process: asyncio.subprocess.Process, base: Path) -> EtcdDatastore:
    """Once the member listens, the engine's own retries cover its last start-up steps."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT
    port = int(url.rsplit(":", 1)[1])
    while True:
        if process.returncode is not None:
            tail = (base / "etcd.log").read_text(errors="replace")[-500:]
            raise DatastoreError(f"the etcd member serving the image exited: {tail}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise Unavailable(url, "the etcd member serving the image did not start") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        break
    channels = Channels(parse_url(url), timeout=_START_TIMEOUT, attempt_timeout=10.0)
    store = _ImageStore(channels, process=process, workdir=base)
    try:
        await store.revision()
    except BaseException:
        await channels.close()
        raise
    return store
