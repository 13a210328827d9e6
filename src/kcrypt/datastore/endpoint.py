"""Open a datastore from an endpoint URL (kine's scheme registry).

=====================================  ==========================================
``sqlite:///abs/path/state.db``        the embedded engine (``sqlite://rel/state.db``
                                       is relative to the working directory)
``memory://``                          a fresh in-memory store (tests)
``etcd://h1:2379,h2:2379``             etcd over plain gRPC
``etcds://h1:2379`` / ``https://...``  etcd over TLS (``http://`` is plain etcd)
=====================================  ==========================================

Engines are imported when first used (``importlib``), so importing
``kcrypt.datastore`` pulls in neither grpc nor another engine, and the
engines stay independent of each other. Any string echoed in an error goes
through :func:`redact` first: endpoint URLs may carry credentials.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from kcrypt.datastore.contract import Datastore
from kcrypt.datastore.errors import InvalidEndpoint

__all__ = ["IMAGE_KINDS", "SCHEMES", "open_datastore", "open_image", "redact"]

# scheme -> (module, function); the function takes (url, **options).
SCHEMES: dict[str, tuple[str, str]] = {
    "sqlite": ("kcrypt.datastore.sqlite.engine", "open_sqlite"),
    "memory": ("kcrypt.datastore.memory", "open_memory"),
    "etcd": ("kcrypt.datastore.etcd.connect", "open_etcd"),
    "etcds": ("kcrypt.datastore.etcd.connect", "open_etcd"),
    "http": ("kcrypt.datastore.etcd.connect", "open_etcd"),
    "https": ("kcrypt.datastore.etcd.connect", "open_etcd"),
}


# image kind (``Image.kind``) -> (module, function); the function takes (path, **options).
IMAGE_KINDS: dict[str, tuple[str, str]] = {
    "sqlite": ("kcrypt.datastore.sqlite.engine", "open_sqlite_image"),
    "memory": ("kcrypt.datastore.memory", "open_memory_image"),
    "etcd": ("kcrypt.datastore.etcd.image", "open_etcd_image"),
}


def redact(url: str) -> str:
    """``url`` without user, password and query (``etcd://u:p@h:2379?x=y`` ->
    ``etcd://h:2379``); never raises."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable endpoint>"
    if not parts.scheme:
        return "<endpoint without a scheme>"
    hosts = ",".join(h.rsplit("@", 1)[-1] for h in parts.netloc.split(","))
    return f"{parts.scheme}://{hosts}{parts.path}"


def _sqlite_path(url: str) -> str:
    rest = url.split("://", 1)[1].split("?", 1)[0]
    if not rest:
        raise InvalidEndpoint(
            "sqlite endpoint has no path: use sqlite:///abs/path/state.db "
            "or sqlite://relative/state.db"
        )
    return rest


async def open_datastore(url: str, **options: Any) -> Datastore:
    """Open the engine ``url`` names; ``options`` go to that engine
    (``read_only=True`` for sqlite, TLS files for etcd, ...)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise InvalidEndpoint(
            f"unsupported datastore endpoint {redact(url)!r}: expected one of {known}"
        )
    module_name, function = SCHEMES[scheme]
    module = importlib.import_module(module_name)
    opener = cast(Callable[..., Awaitable[Datastore]], getattr(module, function))
    if scheme == "sqlite":
        return await opener(_sqlite_path(url), **options)
    return await opener(url, **options)


async def open_image(path: str | Path, kind: str, **options: Any) -> Datastore:
    """A read-only store over an image :meth:`Datastore.snapshot` wrote.

    ``close()`` releases what opening took (an etcd image runs a private etcd
    member on loopback, stopped by close). ``options`` go to the engine."""
    if kind not in IMAGE_KINDS:
        raise InvalidEndpoint(
            f"unknown datastore image kind {kind!r}: expected one of {', '.join(IMAGE_KINDS)}"
        )
    module_name, function = IMAGE_KINDS[kind]
    opener = cast(
        Callable[..., Awaitable[Datastore]],
        getattr(importlib.import_module(module_name), function),
    )
    return await opener(Path(path), **options)
