"""Health probes of KMS plugins, kube-apiserver's ``kmsPluginProbe``/``kmsv2PluginProbe``.

* v2: a check is a ``Status`` call validated by the envelope, which also
  rotates the DEK seed when the key ID changed and otherwise extends the write
  state by 3 minutes (:meth:`KMSv2Transformer.refresh`). It runs on a worker
  thread (the transformer's logic is synchronous, its client bridges back to
  the loop). A poller calls it every minute, every 10 s while failing.
* v1: a check encrypts ``ping`` and decrypts the answer.

A check's result is reused for 20 s when it passed and 3 s when it failed,
so /readyz polled by a load balancer does not hammer the plugin.

Logging: one line when a provider turns unhealthy (naming the provider, its
socket and the reason) and one when it recovers -- not one per failed poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from kcrypt.envelope import KMSError
from kcrypt.envelope.kms.object import key_id_hash
from kcrypt.envelope.kms.v2 import PROBE_FAILING, PROBE_HEALTHY, KMSv2Transformer
from kcrypt.kms.clients import GRPCKMSv1
from kcrypt.kms.metrics import EnvelopeMetrics

__all__ = ["KMSv1Probe", "KMSv2Probe", "KeyIDChange", "Probe"]

log = logging.getLogger("kcrypt.kms")

HEALTHY_TTL = 20.0  # kmsPluginHealthzPositiveTTL
FAILING_TTL = 3.0  # kmsPluginHealthzNegativeTTL

KeyIDChange = Callable[[str, str, str], None]
"""``(provider name, old key ID hash, new key ID hash)`` after a rotation was seen."""


class Probe:
    """The cached check, the poller and the state-change log lines."""

    api_version = ""

    def __init__(self, name: str, endpoint: str, *, clock: Callable[[], float]) -> None:
        self.name = name
        self.endpoint = endpoint
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last: tuple[float, BaseException | None] | None = None
        self._healthy: bool | None = None
        self.task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        raise NotImplementedError

    async def check(self) -> None:
        """Raise the plugin's problem (a ``KMSError``), or return when healthy.

        While a probe is in flight, a caller that has an earlier result gets
        that one at once: /readyz never queues behind a plugin's timeout.
        """
        if self._lock.locked() and self._last is not None:
            error = self._last[1]
            if error is not None:
                raise error
            return
        async with self._lock:
            now = self._clock()
            if self._last is not None:
                at, error = self._last
                if now - at < (FAILING_TTL if error else HEALTHY_TTL):
                    if error is not None:
                        raise error
                    return
            try:
                await self._probe()
            except KMSError as exc:
                self._last = (self._clock(), exc)
                self._transition(exc)
                raise
            self._last = (self._clock(), None)
            self._transition(None)

    def _transition(self, error: BaseException | None) -> None:
        healthy = error is None
        if healthy == self._healthy:
            return
        self._healthy = healthy
        if error is not None:
            log.error(
                'KMS provider "%s" (%s, %s) is not ready: %s -- values it protects cannot be '
                "read or written until the plugin answers; the server keeps running and "
                "reports not ready",
                self.name,
                self.api_version,
                self.endpoint,
                error,
            )
        else:
            log.info(
                'KMS provider "%s" (%s, %s) is ready%s',
                self.name,
                self.api_version,
                self.endpoint,
                self._ready_detail(),
            )

    def _ready_detail(self) -> str:
        return ""

    def expire(self) -> None:
        """Forget the cached result: the next :meth:`check` asks the plugin."""
        self._last = None

    @property
    def healthy(self) -> bool | None:
        """None before the first check."""
        return self._healthy

    async def run(self) -> None:
        """Poll until cancelled: every minute, every 10 s while failing."""
        while True:
            try:
                await self.check()
                interval = PROBE_HEALTHY
            except KMSError:
                interval = PROBE_FAILING
            except Exception:  # a poll must never end the poller
                log.exception('KMS provider "%s": unexpected error in the health probe', self.name)
                interval = PROBE_FAILING
            await asyncio.sleep(interval)

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(
                self.run(), name=f"kcrypt-kms-probe-{self.name}"
            )

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class KMSv2Probe(Probe):
    api_version = "v2"

    def __init__(
        self,
        name: str,
        endpoint: str,
        transformer: KMSv2Transformer,
        *,
        metrics: EnvelopeMetrics | None = None,
        on_key_id_change: KeyIDChange | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, endpoint, clock=clock)
        self.transformer = transformer
        self._metrics = metrics
        self._on_change = on_key_id_change

    async def _probe(self) -> None:
        before = self.transformer.key_id
        status = await asyncio.to_thread(self.transformer.refresh)
        if self._metrics is not None:
            self._metrics.status_key_id(self.name, status.key_id)
        after = self.transformer.key_id
        if before and after != before:
            old, new = key_id_hash(before), key_id_hash(after)
            log.info(
                'KMS provider "%s": key ID changed (hash %s -> %s): new writes use a new DEK '
                "seed; values under the old key ID are stale until re-encrypted",
                self.name,
                old,
                new,
            )
            if self._on_change is not None:
                self._on_change(self.name, old, new)

    def _ready_detail(self) -> str:
        return f", key ID hash {key_id_hash(self.transformer.key_id)}"


class KMSv1Probe(Probe):
    api_version = "v1"

    def __init__(
        self,
        name: str,
        endpoint: str,
        client: GRPCKMSv1,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, endpoint, clock=clock)
        self.client = client

    async def _probe(self) -> None:
        try:
            cipher = await self.client.encrypt(b"ping")
        except Exception as exc:  # the plugin is foreign code
            raise self._error("encrypt", exc) from exc
        try:
            await self.client.decrypt(cipher)
        except Exception as exc:
            raise self._error("decrypt", exc) from exc

    def _error(self, section: str, exc: Exception) -> KMSError:
        return KMSError(
            f"failed to perform {section} section of the healthz check for KMS Provider "
            f"{self.name}, error: {exc}",
            provider="kms v1",
            key_name=self.name,
        )
