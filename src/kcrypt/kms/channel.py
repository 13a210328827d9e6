"""One gRPC channel to a plugin socket, and how its failures read.

Like kube-apiserver's clients: an insecure channel over the unix socket
(authority ``localhost``), every call ``wait_for_ready`` with the config's
``timeout`` -- so a plugin that starts after the server is simply waited for,
up to the timeout, by each call. Failures become the envelope's
:class:`~kcrypt.envelope.PluginCallError` in Go's wording
(``rpc error: code = Unavailable desc = ...``), ``unavailable`` when the
plugin could not be reached or did not answer in time. Every call's latency
goes to ``apiserver_envelope_encryption_kms_operations_latency_seconds``
labelled with the full method name and the status code, as upstream's
interceptor records it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from kcrypt.envelope import PluginCallError
from kcrypt.kms.endpoint import grpc_target
from kcrypt.kms.metrics import EnvelopeMetrics

__all__ = ["PluginChannel", "go_code"]

_UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def go_code(code: grpc.StatusCode) -> str:
    """grpc-go's ``codes.Code.String()``: ``OK``, ``Unavailable``, ``DeadlineExceeded`` ..."""
    if code is grpc.StatusCode.OK:
        return "OK"
    return "".join(part.capitalize() for part in code.name.split("_"))


class PluginChannel:
    """A lazily opened ``grpc.aio`` channel to ``path`` (opened on the running loop)."""

    def __init__(
        self,
        path: str,
        *,
        provider: str,
        timeout: float,
        metrics: EnvelopeMetrics | None = None,
    ) -> None:
        self.path = path
        self.provider = provider
        self.timeout = timeout
        self._metrics = metrics
        self._channel: grpc.aio.Channel | None = None

    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(
                grpc_target(self.path),
                options=[("grpc.default_authority", "localhost")],
            )
        return self._channel

    async def call(self, method: str, invoke: Callable[[float], Awaitable[Any]]) -> Any:
        """``invoke(timeout)`` (a stub call), timed and with failures mapped."""
        start = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            return await invoke(self.timeout)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            details = exc.details() or ""
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                details = "context deadline exceeded"
            raise PluginCallError(
                f"rpc error: code = {go_code(code)} desc = {details}",
                unavailable=code in _UNAVAILABLE,
            ) from None
        finally:
            if self._metrics is not None:
                self._metrics.observe_call(
                    self.provider, method, go_code(code), time.perf_counter() - start
                )

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()
