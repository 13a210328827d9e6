"""Start real etcd members (``/usr/bin/etcd``) on free loopback ports.

Used by the datastore tests, the etcd benchmarks and (later) server tests::

    with EtcdCluster(3, tmp_path) as c:
        ds = await open_etcd(c.url)
        c.kill(c.leader())          # SIGKILL by default
        c.restart(member)

Members use short raft timers (heartbeat 50 ms, election 500 ms) so a killed
leader is replaced in well under a second, which keeps tests quick. Every
process is stopped by its own PID in :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import pytest

from kcrypt.datastore.etcd.proto import rpc_pb2, rpc_pb2_grpc

ETCD = os.environ.get("KCRYPT_TEST_ETCD", "/usr/bin/etcd")


def etcd_available() -> bool:
    return Path(ETCD).is_file() and os.access(ETCD, os.X_OK)


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports the kernel just handed out (then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class EtcdCluster:
    def __init__(
        self,
        size: int,
        base_dir: Path,
        *,
        heartbeat_ms: int = 50,
        election_ms: int = 500,
        start_timeout: float = 30.0,
    ) -> None:
        self.size = size
        self.base_dir = Path(base_dir)
        self._timers = [
            f"--heartbeat-interval={heartbeat_ms}",
            f"--election-timeout={election_ms}",
        ]
        self._start_timeout = start_timeout
        ports = free_ports(2 * size)
        self.client_ports = ports[:size]
        self.peer_ports = ports[size:]
        self._token = f"kcrypt-test-{os.getpid()}-{ports[0]}"
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * size
        self._logs: list[Path] = [self.base_dir / f"m{i}.log" for i in range(size)]
        self._initial = ",".join(
            f"m{i}=http://127.0.0.1:{p}" for i, p in enumerate(self.peer_ports)
        )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        try:
            for i in range(size):
                self._spawn(i, state="new")
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    # ---- addresses ------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        """``127.0.0.1:port`` of every member's client URL."""
        return [f"127.0.0.1:{p}" for p in self.client_ports]

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(self.endpoints)

    # ---- processes ------------------------------------------------------------

    def _spawn(self, i: int, *, state: str) -> None:
        cp, pp = self.client_ports[i], self.peer_ports[i]
        args = [
            ETCD,
            f"--name=m{i}",
            f"--data-dir={self.base_dir / f'm{i}.etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{cp}",
            f"--advertise-client-urls=http://127.0.0.1:{cp}",
            f"--listen-peer-urls=http://127.0.0.1:{pp}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{pp}",
            f"--initial-cluster={self._initial}",
            f"--initial-cluster-token={self._token}",
            f"--initial-cluster-state={state}",
            "--logger=zap",
            "--log-outputs=stderr",
            *self._timers,
        ]
        log = self._logs[i].open("ab")
        try:
            self._procs[i] = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()

    def pid(self, member: int) -> int | None:
        p = self._procs[member]
        return p.pid if p is not None and p.poll() is None else None

    def kill(self, member: int, sig: int = signal.SIGKILL) -> None:
        p = self._procs[member]
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            p.wait(timeout=30)

    def restart(self, member: int) -> None:
        """Start a stopped member again on its old data dir and ports."""
        self.kill(member, signal.SIGTERM)
        self._spawn(member, state="existing")
        self.wait_healthy(members=[member])

    def stop(self) -> None:
        for p in self._procs:
            if p is not None and p.poll() is None:
                p.terminate()
        for i, p in enumerate(self._procs):
            if p is None:
                continue
            try:  # a member that lost quorum can take ~5 s to stop politely
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
            self._procs[i] = None

    def remove_data(self) -> None:
        self.stop()
        for i in range(self.size):
            shutil.rmtree(self.base_dir / f"m{i}.etcd", ignore_errors=True)

    def __enter__(self) -> EtcdCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- status -----------------------------------------------------------------

    def status(self, member: int, timeout: float = 1.0) -> rpc_pb2.StatusResponse:
        with grpc.insecure_channel(self.endpoints[member]) as ch:
            stub = rpc_pb2_grpc.MaintenanceStub(ch)  # type: ignore[no-untyped-call]
            resp: rpc_pb2.StatusResponse = stub.Status(rpc_pb2.StatusRequest(), timeout=timeout)
            return resp

    def leader(self, timeout: float = 10.0) -> int:
        """Index of the member the live members agree is leader."""
        deadline = time.monotonic() + timeout
        while True:
            ids: dict[int, int] = {}
            leaders: set[int] = set()
            for i in range(self.size):
                if self.pid(i) is None:
                    continue
                with contextlib.suppress(grpc.RpcError):
                    st = self.status(i, timeout=0.5)
                    ids[st.header.member_id] = i
                    if st.leader:
                        leaders.add(st.leader)
            if len(leaders) == 1 and (lead := next(iter(leaders))) in ids:
                return ids[lead]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no agreed etcd leader among {self.endpoints}")
            time.sleep(0.05)

    def wait_healthy(self, members: list[int] | None = None) -> None:
        """Until every (given) member answers a linearizable read."""
        deadline = time.monotonic() + self._start_timeout
        pending = list(range(self.size)) if members is None else list(members)
        while pending:
            i = pending[0]
            p = self._procs[i]
            if p is None or p.poll() is not None:
                raise RuntimeError(f"etcd member m{i} exited; log: {self._tail(i)}")
            try:
                with grpc.insecure_channel(self.endpoints[i]) as ch:
                    rpc_pb2_grpc.KVStub(ch).Range(  # type: ignore[no-untyped-call]
                        rpc_pb2.RangeRequest(key=b"\0", count_only=True), timeout=1.0
                    )
                pending.pop(0)
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"etcd m{i} not healthy; log: {self._tail(i)}") from None
                time.sleep(0.05)

    def _tail(self, i: int, n: int = 2000) -> str:
        try:
            return self._logs[i].read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"


def fast_dir(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tmpfs directory when there is one (etcd fsyncs every commit; the
    tests are about behaviour, not disks), else pytest's tmp dir."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix=f"kcrypt-{name}-", dir=shm))
    return tmp_path_factory.mktemp(name)


def _cluster_fixture(size: int, name: str) -> Any:
    @pytest.fixture(scope="session", name=name)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
        base = fast_dir(name, tmp_path_factory)
        try:
            with EtcdCluster(size, base) as cluster:
                yield cluster
        finally:
            if base.is_relative_to("/dev/shm"):
                shutil.rmtree(base, ignore_errors=True)

    return fixture


#: Session-scoped clusters shared by every test (each test uses its own key
#: prefix). Destructive tests (killing members) use their own function-scoped
#: cluster: see ``etcd3_private``.
etcd1_cluster = _cluster_fixture(1, "etcd1_cluster")
etcd3_cluster = _cluster_fixture(3, "etcd3_cluster")


@pytest.fixture
def etcd3_private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """A 3-member cluster of the test's own, free to be damaged."""
    base = fast_dir("etcd3-private", tmp_path_factory)
    try:
        with EtcdCluster(3, base) as cluster:
            yield cluster
    finally:
        if base.is_relative_to("/dev/shm"):
            shutil.rmtree(base, ignore_errors=True)
