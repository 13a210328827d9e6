"""Process wiring for ``kcrypt server`` (DESIGN.md, layer ``server``).

Importing this package is cheap: the API, storage and datastore layers are
imported by :func:`run` when a server actually starts.
"""

from __future__ import annotations

import asyncio

from kcrypt.server.errors import InvalidSettings, ServerError, StartupConfigError, TokenMismatch
from kcrypt.server.settings import (
    AuthSettings,
    DatastoreSettings,
    EncryptionSettings,
    ListenSettings,
    ServerPaths,
    ServerSettings,
)

__all__ = [
    "AuthSettings",
    "DatastoreSettings",
    "EncryptionSettings",
    "InvalidSettings",
    "ListenSettings",
    "ServerError",
    "ServerPaths",
    "ServerSettings",
    "StartupConfigError",
    "TokenMismatch",
    "run",
]


def run(settings: ServerSettings) -> None:
    """Run a server on uvloop until SIGTERM/SIGINT (blocking)."""
    from kcrypt.server.main import run_server

    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it; stay usable without
        asyncio.run(run_server(settings))
    else:
        uvloop.run(run_server(settings))
