"""gRPC channels to the members of one etcd cluster, with failover and retry.

One ``grpc.aio`` channel per member, and every call goes to the *current*
member. A call that fails with a retryable status (see ``errors.TABLE``) moves
"current" to the next member and is retried after a short backoff, all within
one overall deadline. Why not one channel with an ``ipv4:a,b,c`` target and
``round_robin``: a per-member channel knows which member failed (so messages
can name it), works with host names and per-member TLS names, and lets a
watch stream resume on a *different* member on purpose. A killed leader costs
one failed attempt on the dead member plus "no leader" answers from the others
until the election ends (about a second); both are retried.

Every call carries ``hasleader: true`` metadata, so a member cut off from the
leader answers UNAVAILABLE at once (and cancels watch streams) instead of
serving a request it cannot commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import grpc

from kcrypt.datastore.errors import InvalidEndpoint, Unavailable
from kcrypt.datastore.etcd.errors import Kind, classify
from kcrypt.datastore.etcd.proto import rpc_pb2_grpc

__all__ = ["METADATA", "Channels", "EtcdUrl", "Stubs", "parse_url"]

T = TypeVar("T")

DEFAULT_PORT = 2379
METADATA = (("hasleader", "true"),)
_TLS_SCHEMES = {"etcds", "https"}
_PLAIN_SCHEMES = {"etcd", "http"}
_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # etcd's server rejects pings more often than every 5 s (too_many_pings)
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.max_receive_message_length", 2**31 - 1),
    ("grpc.max_send_message_length", 2**31 - 1),
)


@dataclass(frozen=True, slots=True)
class EtcdUrl:
    tls: bool
    members: tuple[str, ...]  # "host:port" (IPv6 in brackets)
    printable: str
    options: tuple[tuple[str, str], ...] = ()  # ?name=value (see engine.URL_OPTIONS)


def parse_url(url: str) -> EtcdUrl:
    """``etcd://h1:p1,h2:p2`` (also ``http://``; ``etcds://``/``https://`` for
    TLS). Each member may also carry its own scheme (``http://h1:p1,http://h2:p2``
    as etcdctl writes it). Credentials are refused: kcrypt authenticates to
    etcd with client certificates only."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    rest, _, query = rest.partition("?")
    options = tuple(parse_qsl(query, keep_blank_values=True))
    if not sep or scheme not in _TLS_SCHEMES | _PLAIN_SCHEMES:
        raise InvalidEndpoint(
            f"not an etcd endpoint: {_strip_credentials(url)!r} "
            "(expected etcd://host:port[,host:port...] or etcds://...)"
        )
    members: list[str] = []
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        if "://" not in part:
            part = f"{scheme}://{part}"
        sp = urlsplit(part)
        if sp.username or sp.password:
            raise InvalidEndpoint(
                f"etcd endpoint {_strip_credentials(url)!r} carries credentials: "
                "user/password authentication is not supported, use client certificates"
            )
        try:
            port = sp.port or DEFAULT_PORT
        except ValueError as exc:
            raise InvalidEndpoint(f"bad port in etcd endpoint {part!r}") from exc
        host = sp.hostname
        if not host:
            raise InvalidEndpoint(f"no host in etcd endpoint {_strip_credentials(url)!r}")
        members.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    if not members:
        raise InvalidEndpoint(f"no etcd members in {_strip_credentials(url)!r}")
    pscheme = "etcds" if scheme in _TLS_SCHEMES else "etcd"
    return EtcdUrl(
        tls=scheme in _TLS_SCHEMES,
        members=tuple(members),
        printable=f"{pscheme}://{','.join(members)}",
        options=options,
    )


def _strip_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    parts = [p.rpartition("@")[2] for p in rest.split(",")]
    return f"{scheme}{sep}{','.join(parts)}"


class Stubs:
    """The generated stubs bound to one member's channel."""

    def __init__(self, member: str, channel: grpc.aio.Channel) -> None:
        self.member = member
        self.channel = channel
        self.kv: Any = rpc_pb2_grpc.KVStub(channel)  # type: ignore[no-untyped-call]
        self.watch: Any = rpc_pb2_grpc.WatchStub(channel)  # type: ignore[no-untyped-call]
        self.lease: Any = rpc_pb2_grpc.LeaseStub(channel)  # type: ignore[no-untyped-call]
        self.maintenance: Any = rpc_pb2_grpc.MaintenanceStub(channel)  # type: ignore[no-untyped-call]


#: An attempt: gets the member's stubs, the attempt's deadline in seconds and
#: the attempt number (0 first; > 0 means an earlier attempt may have been
#: applied without us seeing the answer).
Attempt = Callable[[Stubs, float, int], Awaitable[T]]


class Channels:
    def __init__(
        self,
        url: EtcdUrl,
        *,
        timeout: float,
        attempt_timeout: float,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.attempt_timeout = min(attempt_timeout, timeout)
        creds = _credentials(url, ca_file, cert_file, key_file)
        self._members: list[Stubs] = []
        for m in url.members:
            ch = (
                grpc.aio.secure_channel(m, creds, options=_OPTIONS)
                if creds is not None
                else grpc.aio.insecure_channel(m, options=_OPTIONS)
            )
            self._members.append(Stubs(m, ch))
        self._current = 0

    @property
    def endpoint(self) -> str:
        return self.url.printable

    def current(self) -> Stubs:
        return self._members[self._current]

    def failover(self, failed: Stubs) -> None:
        """Move to the next member, unless another caller already did."""
        if self._members[self._current] is failed:
            self._current = (self._current + 1) % len(self._members)

    async def call(self, attempt: Attempt[T], *, retry: bool = True) -> T:
        """Run ``attempt`` on the current member, failing over and retrying
        retryable errors with backoff until ``timeout`` has passed. Other gRPC
        errors propagate unchanged (the engine translates them with context)."""
        deadline = time.monotonic() + self.timeout
        delay = 0.05
        n = 0
        while True:
            stubs = self.current()
            remaining = deadline - time.monotonic()
            try:
                return await attempt(stubs, max(0.01, min(remaining, self.attempt_timeout)), n)
            except grpc.aio.AioRpcError as err:
                if classify(err) is not Kind.RETRY:
                    raise
                self.failover(stubs)
                remaining = deadline - time.monotonic()
                if not retry or remaining <= 0:
                    raise self.unavailable(err, stubs, n + 1) from None
            await asyncio.sleep(min(delay, max(0.0, remaining)))
            delay = min(delay * 2, 0.5)
            n += 1

    def unavailable(self, err: grpc.aio.AioRpcError, stubs: Stubs, attempts: int) -> Unavailable:
        detail = f"member {stubs.member}: {err.code().name}: {err.details() or ''}"
        return Unavailable(self.endpoint, f"{detail} ({attempts} attempt(s) in {self.timeout:g}s)")

    async def close(self) -> None:
        await asyncio.gather(*(m.channel.close() for m in self._members))


def _credentials(
    url: EtcdUrl,
    ca_file: str | Path | None,
    cert_file: str | Path | None,
    key_file: str | Path | None,
) -> grpc.ChannelCredentials | None:
    if not url.tls:
        if ca_file or cert_file or key_file:
            raise InvalidEndpoint(
                f"TLS files given for plain-text endpoint {url.printable} (use etcds://)"
            )
        return None
    if bool(cert_file) != bool(key_file):
        raise InvalidEndpoint("etcd client certificate and key must be given together")

    def read(p: str | Path | None) -> bytes | None:
        if not p:
            return None
        try:
            return Path(p).read_bytes()
        except OSError as exc:
            raise InvalidEndpoint(f"cannot read etcd TLS file {p}: {exc.strerror}") from exc

    return grpc.ssl_channel_credentials(
        root_certificates=read(ca_file),
        private_key=read(key_file),
        certificate_chain=read(cert_file),
    )
