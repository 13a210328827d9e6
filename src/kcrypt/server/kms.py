"""The server's seam to KMS plugins: one factory, its metrics, its health check.

:func:`kms_providers` makes the :class:`~kcrypt.kms.KMSProviders` every
``build_transformers`` call of this server gets (start-up, reload, live
swaps), with kube-apiserver's envelope metrics on the server's registry.
:func:`kms_health_check` is the ``kms-providers`` check of /healthz and
/readyz: a plugin that is down makes the server not ready, never stops it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from kcrypt.kms import HEALTH_CHECK_NAME, EnvelopeMetrics, KMSProviders
from kcrypt.server.health import Check

__all__ = ["kms_health_check", "kms_providers"]


def kms_providers(registry: CollectorRegistry, *, apiserver_id: str) -> KMSProviders:
    return KMSProviders(metrics=EnvelopeMetrics(registry, apiserver_id=apiserver_id))


def kms_health_check(providers: KMSProviders) -> Check:
    return (HEALTH_CHECK_NAME, providers.check)
