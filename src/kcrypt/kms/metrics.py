"""kube-apiserver's envelope encryption metrics (``apiserver_envelope_encryption_*``).

Names, types, labels and buckets are upstream's
(``k8s.io/apiserver pkg/storage/value/encrypt/envelope/metrics``); hash
labels are ``sha256:<hex>``, never a key ID itself. The per-value counter
keeps one labelled child per (operation, provider, key ID) so a value costs
a dict lookup and an increment.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kcrypt.envelope.kms.object import key_id_hash

__all__ = ["EnvelopeMetrics", "ProviderObserver", "apiserver_id_hash"]

_NS = "apiserver_envelope_encryption"


def apiserver_id_hash(apiserver_id: str) -> str:
    return "sha256:" + hashlib.sha256(apiserver_id.encode()).hexdigest() if apiserver_id else ""


class EnvelopeMetrics:
    def __init__(self, registry: CollectorRegistry, *, apiserver_id: str) -> None:
        self.apiserver_id_hash = apiserver_id_hash(apiserver_id)
        self.latency = Histogram(
            f"{_NS}_kms_operations_latency_seconds",
            "KMS operation duration with gRPC error code status total.",
            ["provider_name", "method_name", "grpc_status_code"],
            buckets=[0.0001 * 2**n for n in range(20)],
            registry=registry,
        )
        key_labels = ["transformation_type", "provider_name", "key_id_hash", "apiserver_id_hash"]
        self.key_id_total = Counter(
            f"{_NS}_key_id_hash",
            "Number of times a keyID is used split by transformation type, provider, "
            "and apiserver identity.",
            key_labels,
            registry=registry,
        )
        self.key_id_last = Gauge(
            f"{_NS}_key_id_hash_last_timestamp_seconds",
            "The last time in seconds when a keyID was used.",
            key_labels,
            registry=registry,
        )
        self.status_key_id_last = Gauge(
            f"{_NS}_key_id_hash_status_last_timestamp_seconds",
            "The last time in seconds when a keyID was returned by the Status RPC call.",
            ["provider_name", "key_id_hash", "apiserver_id_hash"],
            registry=registry,
        )
        self.invalid_key_id = Counter(
            f"{_NS}_invalid_key_id_from_status",
            "Number of times an invalid keyID is returned by the Status RPC call split by error.",
            ["provider_name", "error"],
            registry=registry,
        )
        self.dek_cache_fill = Gauge(
            f"{_NS}_dek_cache_fill_percent",
            "Percent of the cache slots currently occupied by cached DEKs.",
            registry=registry,
        )
        self.dek_source_cache_size = Gauge(
            f"{_NS}_dek_source_cache_size",
            "Number of records in data encryption key (DEK) source cache. On a restart, "
            "this value is an approximation of the number of decrypt RPC calls the server "
            "will make to the KMS plugin.",
            ["provider_name"],
            registry=registry,
        )

    def observe_call(self, provider: str, method: str, code: str, seconds: float) -> None:
        self.latency.labels(provider, method, code).observe(seconds)

    def status_key_id(self, provider: str, key_id: str) -> None:
        self.status_key_id_last.labels(
            provider, key_id_hash(key_id), self.apiserver_id_hash
        ).set_to_current_time()

    def observer(self, provider: str) -> ProviderObserver:
        return ProviderObserver(self, provider)

    def v1_cache_fill(self, fill: Callable[[], float]) -> None:
        self.dek_cache_fill.set_function(fill)

    def v2_cache_size(self, provider: str, size: Callable[[], float]) -> None:
        self.dek_source_cache_size.labels(provider).set_function(size)


class ProviderObserver:
    """The envelope's :class:`~kcrypt.envelope.KeyIDObserver` for one provider."""

    def __init__(self, metrics: EnvelopeMetrics, provider: str) -> None:
        self._m = metrics
        self._provider = provider
        self._children: dict[tuple[str, str], tuple[Counter, Gauge]] = {}

    def key_id_used(self, transformation_type: str, key_id: str) -> None:
        children = self._children.get((transformation_type, key_id))
        if children is None:
            labels = (
                transformation_type,
                self._provider,
                key_id_hash(key_id),
                self._m.apiserver_id_hash,
            )
            children = (self._m.key_id_total.labels(*labels), self._m.key_id_last.labels(*labels))
            self._children[(transformation_type, key_id)] = children
        children[0].inc()
        children[1].set(time.time())

    def invalid_key_id(self, error: str) -> None:
        self._m.invalid_key_id.labels(self._provider, error).inc()
