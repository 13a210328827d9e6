"""``/metrics`` and the encryption-config reload metrics, under kube-apiserver's names.

Dashboards and alerts written for kube-apiserver's reload controller work
unchanged against kcrypt: the names, label names and label values are
upstream's (``staging/src/k8s.io/apiserver/pkg/server/options/encryptionconfig/
metrics/metrics.go``). ``apiserver_id_hash`` is ``"sha256:" + hex(sha256(id))``
of the server's identity, as upstream computes it.

Everything is served from one ``CollectorRegistry`` that the server owns (not
prometheus_client's global one), so tests can run several servers in a
process. The route sits behind the same bearer-token auth as the API.
"""

from __future__ import annotations

import hashlib
import time

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["ReloadMetrics", "apiserver_id_hash", "metrics_route"]


def apiserver_id_hash(apiserver_id: str) -> str:
    """Upstream's label value: empty for an empty id, else ``sha256:<hex>``."""
    if not apiserver_id:
        return ""
    return "sha256:" + hashlib.sha256(apiserver_id.encode()).hexdigest()


class ReloadMetrics:
    """The three series of kube-apiserver's encryption config controller."""

    def __init__(self, registry: CollectorRegistry, *, apiserver_id: str) -> None:
        self._id_hash = apiserver_id_hash(apiserver_id)
        namespace, subsystem = "apiserver", "encryption_config_controller"
        self._reloads = Counter(
            "automatic_reloads",
            "Total number of reload successes and failures of encryption configuration "
            "split by apiserver identity.",
            ["status", "apiserver_id_hash"],
            namespace=namespace,
            subsystem=subsystem,
            registry=registry,
        )
        self._last_timestamp = Gauge(
            "automatic_reload_last_timestamp_seconds",
            "Timestamp of the last successful or failed automatic reload of encryption "
            "configuration split by apiserver identity.",
            ["status", "apiserver_id_hash"],
            namespace=namespace,
            subsystem=subsystem,
            registry=registry,
        )
        self._config_info = Gauge(
            "last_config_info",
            "Information about the last applied encryption configuration with hash as label, "
            "split by apiserver identity.",
            ["apiserver_id_hash", "hash"],
            namespace=namespace,
            subsystem=subsystem,
            registry=registry,
        )

    def record_success(self, config_hash: str) -> None:
        self._record("success")
        self.record_config_info(config_hash)

    def record_failure(self) -> None:
        self._record("failure")

    def record_config_info(self, config_hash: str) -> None:
        """Exactly one series: the config now in use (upstream resets the vector)."""
        self._config_info.clear()
        self._config_info.labels(apiserver_id_hash=self._id_hash, hash=config_hash).set(1)

    def _record(self, status: str) -> None:
        self._reloads.labels(status=status, apiserver_id_hash=self._id_hash).inc()
        self._last_timestamp.labels(status=status, apiserver_id_hash=self._id_hash).set(time.time())


def metrics_route(registry: CollectorRegistry) -> Route:
    """``GET /metrics`` in Prometheus text format."""

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"], name="metrics")
