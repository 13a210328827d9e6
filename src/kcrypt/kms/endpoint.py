"""KMS plugin endpoints: ``unix:///path/to/socket`` only, as kube-apiserver reads them.

Upstream's ``ParseEndpoint`` (k8s.io/kms ``pkg/util``): the scheme must be
``unix``; the path is the socket file, and ``unix:///@name`` is a Linux
abstract socket named ``@name``. The messages are upstream's.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kcrypt.kms.errors import EndpointError

__all__ = ["grpc_target", "parse_endpoint"]


def parse_endpoint(endpoint: str) -> str:
    """The socket path of ``endpoint`` (``@name`` for an abstract socket)."""
    if not endpoint:
        raise EndpointError("remote KMS provider can't use empty string as endpoint")
    try:
        parts = urlsplit(endpoint)
    except ValueError as exc:
        raise EndpointError(
            f'invalid endpoint "{endpoint}" for remote KMS provider, error: {exc}'
        ) from None
    if parts.scheme != "unix":
        raise EndpointError(f'unsupported scheme "{parts.scheme}" for remote KMS provider')
    if parts.path.startswith("/@"):
        return parts.path[1:]
    return parts.path


def grpc_target(path: str) -> str:
    """The grpc target for a socket path from :func:`parse_endpoint`."""
    if path.startswith("@"):
        return "unix-abstract:" + path[1:]
    return "unix:" + path
