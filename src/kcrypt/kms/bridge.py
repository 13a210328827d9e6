"""Sync envelope clients over the async gRPC clients, never waiting on the loop.

The envelope's transformers are synchronous (they are pure and also run in
offline tools), while the gRPC clients live on the server's event loop.
The bridge joins them without ever blocking that loop:

* called on the loop's thread -- a request handler transforming a value --
  it raises :class:`~kcrypt.envelope.WouldBlock` before any I/O; the storage
  layer repeats that one transformation on a worker thread;
* called on a worker thread, it schedules the gRPC call on the loop and waits
  for its answer (the call's own timeout bounds the wait; a stopped loop is
  caught by a second, longer bound).

Only cache misses and KMS v1 writes ever get here, so the common path -- a
value whose DEK is cached -- stays on the loop with no thread hop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from kcrypt.envelope import KMSEncryptResponse, KMSStatus, PluginCallError, WouldBlock
from kcrypt.kms.clients import GRPCKMSv1, GRPCKMSv2

__all__ = ["LoopBridge", "SyncKMSv1", "SyncKMSv2"]

T = TypeVar("T")
_STOPPED_LOOP_GRACE = 5.0


class LoopBridge:
    """Runs coroutines on ``loop`` for callers on other threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise WouldBlock("a KMS plugin call cannot wait on the event loop's thread")
        future = asyncio.run_coroutine_threadsafe(make(), self.loop)
        try:
            return future.result(timeout=self.timeout + _STOPPED_LOOP_GRACE)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise PluginCallError(
                "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
                unavailable=True,
            ) from None


class SyncKMSv2:
    """The envelope's ``KMSv2Client`` over :class:`GRPCKMSv2`."""

    def __init__(self, client: GRPCKMSv2, bridge: LoopBridge) -> None:
        self.client = client
        self._bridge = bridge

    def status(self) -> KMSStatus:
        return self._bridge.run(self.client.status)

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        return self._bridge.run(lambda: self.client.encrypt(plaintext, uid=uid))

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        return self._bridge.run(
            lambda: self.client.decrypt(ciphertext, uid=uid, key_id=key_id, annotations=annotations)
        )


class SyncKMSv1:
    """The envelope's ``KMSv1Client`` over :class:`GRPCKMSv1`."""

    def __init__(self, client: GRPCKMSv1, bridge: LoopBridge) -> None:
        self.client = client
        self._bridge = bridge

    def encrypt(self, plain: bytes) -> bytes:
        return self._bridge.run(lambda: self.client.encrypt(plain))

    def decrypt(self, cipher: bytes) -> bytes:
        return self._bridge.run(lambda: self.client.decrypt(cipher))
