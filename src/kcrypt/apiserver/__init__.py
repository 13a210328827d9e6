"""Kubernetes REST for core/v1 secrets, configmaps and namespaces (kubectl works).

:func:`create_app` builds the Starlette app over a :class:`kcrypt.storage.ObjectStore`;
:func:`ensure_default_namespaces` creates ``default``/``kube-system``/``kube-public``;
:class:`TokenAuthenticator` is the constant-time bearer-token check.
"""

from kcrypt.apiserver.app import create_app
from kcrypt.apiserver.auth import TokenAuthenticator
from kcrypt.apiserver.discovery import VERSION_INFO
from kcrypt.apiserver.errors import ApiError, ApiserverError
from kcrypt.apiserver.resources import DEFAULT_NAMESPACES, ensure_default_namespaces
from kcrypt.apiserver.status import status

__all__ = [
    "DEFAULT_NAMESPACES",
    "VERSION_INFO",
    "ApiError",
    "ApiserverError",
    "TokenAuthenticator",
    "create_app",
    "ensure_default_namespaces",
    "status",
]
