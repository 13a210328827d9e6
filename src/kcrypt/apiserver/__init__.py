"""Kubernetes REST for core/v1 secrets, configmaps, namespaces and events (kubectl works).

:func:`create_app` builds the Starlette app over a :class:`kcrypt.storage.ObjectStore`;
:func:`ensure_default_namespaces` creates ``default``/``kube-system``/``kube-public``;
:class:`TokenAuthenticator` is the constant-time bearer-token check and
:func:`authenticated` tells a handler whether its caller presented it (health
endpoints answer anonymous probes without details); :func:`read_body` and
:func:`parse_json` read request bodies with kube-apiserver's 3 MiB cap.
"""

from kcrypt.apiserver.app import create_app
from kcrypt.apiserver.auth import TokenAuthenticator, authenticated
from kcrypt.apiserver.body import MAX_REQUEST_BODY_BYTES, parse_json, read_body
from kcrypt.apiserver.errors import ApiError, ApiserverError, ClientGone
from kcrypt.apiserver.lifecycle import DEFAULT_NAMESPACES, ensure_default_namespaces
from kcrypt.apiserver.status import status
from kcrypt.apiserver.version import VERSION_INFO

__all__ = [
    "DEFAULT_NAMESPACES",
    "MAX_REQUEST_BODY_BYTES",
    "VERSION_INFO",
    "ApiError",
    "ApiserverError",
    "ClientGone",
    "TokenAuthenticator",
    "authenticated",
    "create_app",
    "ensure_default_namespaces",
    "parse_json",
    "read_body",
    "status",
]
