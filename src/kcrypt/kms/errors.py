"""Errors of the KMS client layer.

    KcryptError
    └── KMSClientError
        └── EndpointError (ValueError)   an endpoint kube-apiserver would refuse too

Plugin call failures are not here: the clients raise the envelope's
:class:`~kcrypt.envelope.PluginCallError` so the transformers can tell an
unreachable plugin from a failing one.
"""

from __future__ import annotations

from kcrypt.errors import KcryptError

__all__ = ["EndpointError", "KMSClientError"]


class KMSClientError(KcryptError):
    """Base class of the KMS client layer's own errors."""


class EndpointError(KMSClientError, ValueError):
    """A KMS endpoint that is not ``unix://`` (upstream ``util.ParseEndpoint``)."""
