"""The server's KMS providers: built from the config, probed, checked, described.

:class:`KMSProviders` is the ``kms`` factory :func:`kcrypt.config.build_transformers`
takes. For each ``kms`` entry it makes a gRPC client on the entry's socket
(no dial: the plugin may start later, as kube-apiserver allows), the
envelope provider over it, and a health probe whose poller owns the v2 DEK
seed. An entry that a reload keeps unchanged (same name, version, endpoint,
timeout, cachesize) gets the same provider back, so a reload neither
re-primes the seed nor empties the DEK cache. Providers the live config no
longer uses stop probing when the registry swaps (:meth:`KMSProviders.attach`).

Health: one check named ``kms-providers`` on /healthz and /readyz, as
kube-apiserver names it with ``--encryption-provider-config-automatic-reload``
(kcrypt always reloads); its failures read ``<name>: <error>`` in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kcrypt.config.model import DEFAULT_KMS_CACHESIZE, KMSConfiguration
from kcrypt.envelope import Provider, kms_v1, kms_v2
from kcrypt.envelope.kms.object import key_id_hash
from kcrypt.envelope.kms.v1 import KMSv1Transformer
from kcrypt.envelope.kms.v2 import KMSv2Transformer
from kcrypt.kms.bridge import LoopBridge, SyncKMSv1, SyncKMSv2
from kcrypt.kms.channel import PluginChannel
from kcrypt.kms.clients import GRPCKMSv1, GRPCKMSv2
from kcrypt.kms.endpoint import parse_endpoint
from kcrypt.kms.errors import KMSClientError
from kcrypt.kms.metrics import EnvelopeMetrics
from kcrypt.kms.probes import KeyIDChange, KMSv1Probe, KMSv2Probe, Probe

__all__ = ["HEALTH_CHECK_NAME", "KMSProviders", "KMSUnhealthy", "ProviderInfo"]

log = logging.getLogger("kcrypt.kms")

HEALTH_CHECK_NAME = "kms-providers"
KMSV1_DEPRECATED = (
    "KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead."
)


class KMSUnhealthy(KMSClientError):
    """At least one KMS provider of the live config failed its health check."""


class _Swaps(Protocol):
    """What :meth:`KMSProviders.attach` needs of ``storage.TransformerRegistry``."""

    @property
    def current(self) -> object: ...

    def on_swap(self, callback: Callable[[], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A row of ``secrets-encrypt status``: no key material, the key ID only hashed."""

    name: str
    api_version: str
    endpoint: str
    key_id_hash: str
    healthy: bool | None


@dataclass(slots=True)
class _Entry:
    provider: Provider
    probe: Probe
    channel: PluginChannel


class KMSProviders:
    """See the module docstring."""

    def __init__(
        self,
        *,
        metrics: EnvelopeMetrics | None = None,
        on_key_id_change: KeyIDChange | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._metrics = metrics
        self._on_change = on_key_id_change
        self._clock = clock
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._v1_warned = False
        self._closing: set[asyncio.Task[None]] = set()

    # -- the factory -------------------------------------------------------------------

    def v2(self, config: KMSConfiguration) -> Provider:
        key = ("v2", config.name, config.endpoint, config.timeout_seconds)
        entry = self._entries.get(key)
        if entry is None:
            channel = self._channel(config)
            client = GRPCKMSv2(channel)
            bridge = LoopBridge(asyncio.get_running_loop(), timeout=config.timeout_seconds)
            observer = self._metrics.observer(config.name) if self._metrics else None
            provider = kms_v2(
                config.name,
                SyncKMSv2(client, bridge),
                clock=self._clock,
                probe_on_demand=False,
                observer=observer,
            )
            assert isinstance(provider.transformer, KMSv2Transformer)
            transformer = provider.transformer
            if self._metrics is not None:
                self._metrics.v2_cache_size(config.name, lambda: transformer.dek_source_cache_size)
            probe = KMSv2Probe(
                config.name,
                config.endpoint,
                transformer,
                metrics=self._metrics,
                on_key_id_change=self._on_change,
            )
            entry = self._add(key, _Entry(provider, probe, channel))
        return entry.provider

    def v1(self, config: KMSConfiguration) -> Provider:
        cache_size = DEFAULT_KMS_CACHESIZE if config.cachesize is None else config.cachesize
        key = ("v1", config.name, config.endpoint, config.timeout_seconds, cache_size)
        entry = self._entries.get(key)
        if entry is None:
            if not self._v1_warned:
                self._v1_warned = True
                log.warning("%s", KMSV1_DEPRECATED)
            channel = self._channel(config)
            client = GRPCKMSv1(channel)
            bridge = LoopBridge(asyncio.get_running_loop(), timeout=config.timeout_seconds)
            provider = kms_v1(config.name, SyncKMSv1(client, bridge), cache_size=cache_size)
            assert isinstance(provider.transformer, KMSv1Transformer)
            transformer = provider.transformer
            if self._metrics is not None:
                self._metrics.v1_cache_fill(lambda: transformer.cache_fill_percent)
            probe = KMSv1Probe(config.name, config.endpoint, client)
            entry = self._add(key, _Entry(provider, probe, channel))
        return entry.provider

    def _channel(self, config: KMSConfiguration) -> PluginChannel:
        path = parse_endpoint(config.endpoint)  # EndpointError is a ValueError
        return PluginChannel(
            path, provider=config.name, timeout=config.timeout_seconds, metrics=self._metrics
        )

    def _add(self, key: tuple[Any, ...], entry: _Entry) -> _Entry:
        self._entries[key] = entry
        entry.probe.start()
        return entry

    # -- lifecycle ---------------------------------------------------------------------

    def attach(self, registry: _Swaps) -> None:
        """Stop probing providers the registry's live config no longer uses."""
        self._registry = registry
        registry.on_swap(self._prune)

    def _prune(self) -> None:
        in_use = _transformers_in(self._registry.current)
        for key, entry in list(self._entries.items()):
            if id(entry.provider.transformer) not in in_use:
                del self._entries[key]
                log.info('KMS provider "%s" is no longer configured', entry.probe.name)
                task = asyncio.get_running_loop().create_task(self._retire(entry))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _retire(entry: _Entry) -> None:
        await entry.probe.stop()
        await entry.channel.close()

    async def close(self) -> None:
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            await self._retire(entry)
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task

    # -- health and status -------------------------------------------------------------

    def probes(self) -> list[Probe]:
        return [e.probe for e in self._entries.values()]

    async def check(self) -> None:
        """The ``kms-providers`` health check (a no-op with no KMS provider)."""
        probes = self.probes()
        results = await asyncio.gather(*(p.check() for p in probes), return_exceptions=True)
        problems = [
            f"{probe.name}: {result}"  # each failure is named, all are reported
            for probe, result in zip(probes, results, strict=True)
            if isinstance(result, BaseException)
        ]
        if problems:
            raise KMSUnhealthy("; ".join(problems))

    async def refresh(self) -> None:
        """Ask every plugin now (not at the next poll) for its current key ID.

        Before a re-encryption pass, so that the pass writes under the key ID
        the plugin has *now* (just after a KMS rotation, say). A plugin that
        does not answer is logged by its probe; the pass then waits for it.
        """
        for probe in self.probes():
            probe.expire()
            with contextlib.suppress(Exception):
                await probe.check()

    def describe(self) -> list[ProviderInfo]:
        rows = []
        for entry in self._entries.values():
            transformer = entry.provider.transformer
            key_id = transformer.key_id if isinstance(transformer, KMSv2Transformer) else ""
            rows.append(
                ProviderInfo(
                    name=entry.probe.name,
                    api_version=entry.probe.api_version,
                    endpoint=entry.probe.endpoint,
                    key_id_hash=key_id_hash(key_id),
                    healthy=entry.probe.healthy,
                )
            )
        return rows


def _transformers_in(source: object) -> set[int]:
    """ids of the provider transformers of a ``config.Transformers`` (else none)."""
    rules = getattr(source, "rules", None)
    if rules is None:
        return set()
    found: set[int] = set()
    for chain in rules().values():
        for provider in getattr(chain, "providers", ()):
            found.add(id(provider.transformer))
    return found
