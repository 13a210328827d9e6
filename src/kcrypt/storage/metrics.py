"""kube-apiserver's storage transformation metrics, under the same names.

``apiserver_storage_transformation_operations_total{resource,
transformation_type, transformer_prefix, status}`` and
``apiserver_storage_transformation_duration_seconds{transformation_type,
transformer_prefix}`` (k8s.io/apiserver ``pkg/storage/value/metrics.go``), so
dashboards and alerts written for a real control plane keep working.

Label values follow upstream's prefix transformer chain: a read of
``k8s:enc:aescbc:v1:key1:...`` records the provider prefix
``k8s:enc:aescbc:v1:`` and the nested key prefix ``key1:``; an identity read
records ``identity``, an unreadable value ``unknown``; a write records the
prefix it wrote (``""`` for identity). ``status`` is ``OK`` or
``unknown-non-grpc`` (no KMS gRPC code is known at this layer). Durations are
observed only for successful operations, as upstream does.

The collectors live in a registry passed in (never prometheus_client's global
one), so several stores in one test process do not collide.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["StorageMetrics", "prefix_labels"]

_BUCKETS = tuple(5e-6 * 2**n for n in range(25))
_NESTED_KEY_PROVIDERS = frozenset({"aescbc", "aesgcm", "secretbox"})


def prefix_labels(prefix: str) -> tuple[str, ...]:
    """The ``transformer_prefix`` labels one operation records, outermost first.

    >>> prefix_labels("k8s:enc:aescbc:v1:key1:")
    ('k8s:enc:aescbc:v1:', 'key1:')
    >>> prefix_labels("k8s:enc:kms:v2:plugin:")
    ('k8s:enc:kms:v2:plugin:',)
    """
    parts = prefix.split(":")
    if len(parts) >= 6 and parts[0] == "k8s" and parts[1] == "enc":
        provider_prefix = ":".join(parts[:4]) + ":"
        if parts[2] in _NESTED_KEY_PROVIDERS:
            return (provider_prefix, parts[4] + ":")
    return (prefix,)


class StorageMetrics:
    """The two transformation collectors, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.operations = Counter(
            "apiserver_storage_transformation_operations_total",
            "Total number of transformations. Successful transformation will have a status 'OK' "
            "and a varied status string when the transformation fails.",
            ["resource", "transformation_type", "transformer_prefix", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "apiserver_storage_transformation_duration_seconds",
            "Latencies in seconds of value transformation operations.",
            ["transformation_type", "transformer_prefix"],
            buckets=_BUCKETS,
            registry=registry,
        )
        # (resource, type, prefix, ok) -> its children. Bounded by the label
        # space itself: resources x 2 types x the key prefixes ever seen.
        self._children: dict[tuple[str, str, str, bool], tuple[tuple[Any, Any], ...]] = {}

    def record(
        self, resource: str, *, transformation_type: str, prefix: str, seconds: float, ok: bool
    ) -> None:
        key = (resource, transformation_type, prefix, ok)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = self._resolve(*key)
        for counter, histogram in children:
            counter.inc()
            if histogram is not None:
                histogram.observe(seconds)

    def _resolve(
        self, resource: str, transformation_type: str, prefix: str, ok: bool
    ) -> tuple[tuple[Any, Any], ...]:
        """The labelled children one kind of operation records into, looked up once:
        ``labels()`` hashes and locks per call, a dict hit does not."""
        status = "OK" if ok else "unknown-non-grpc"
        if transformation_type == "from_storage" and ok and prefix == "":
            labels: tuple[str, ...] = ("identity",)
        elif not ok and transformation_type == "from_storage":
            labels = ("unknown",)
        else:
            labels = prefix_labels(prefix)
        return tuple(
            (
                self.operations.labels(resource, transformation_type, label, status),
                self.duration.labels(transformation_type, label) if ok else None,
            )
            for label in labels
        )
