"""KMS plugins over gRPC for the server: clients, the loop bridge, probes, metrics.

kube-apiserver's KMS v2 (``v2.KeyManagementService``) and deprecated v1
(``v1beta1.KeyManagementService``) clients on grpcio's asyncio API over
``unix://`` sockets, wrapped for the synchronous envelope transformers by a
bridge that never blocks the event loop (:mod:`kcrypt.kms.bridge`), with
upstream's health probes, status polling and ``apiserver_envelope_encryption_*``
metrics. :class:`KMSProviders` is what the server hands to
:func:`kcrypt.config.build_transformers`.
"""

from kcrypt.kms.clients import GRPCKMSv1, GRPCKMSv2
from kcrypt.kms.endpoint import parse_endpoint
from kcrypt.kms.errors import EndpointError, KMSClientError
from kcrypt.kms.metrics import EnvelopeMetrics
from kcrypt.kms.providers import (
    HEALTH_CHECK_NAME,
    KMSV1_DEPRECATED,
    KMSProviders,
    KMSUnhealthy,
    ProviderInfo,
)

__all__ = [
    "HEALTH_CHECK_NAME",
    "KMSV1_DEPRECATED",
    "EndpointError",
    "EnvelopeMetrics",
    "GRPCKMSv1",
    "GRPCKMSv2",
    "KMSClientError",
    "KMSProviders",
    "KMSUnhealthy",
    "ProviderInfo",
    "parse_endpoint",
]
