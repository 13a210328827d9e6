"""The Starlette application: the whole route table, in one place.

``create_app`` knows nothing about processes, TLS, files or config reloads
(the server layer does); it takes an :class:`ObjectStore`, a token check and
optional extra routes (``/metrics``, ``/healthz``, the supervisor API), all
behind the same bearer-token check (:mod:`.auth`). Its lifespan runs the
namespace lifecycle (:mod:`.lifecycle`), which finishes namespace deletions.

    GET                  /api /apis /api/v1 /apis/<group>[/v1] /version
    GET                  /openapi/v2 /openapi/v3 /openapi/v3/api/v1
    POST                 /apis/authorization.k8s.io/v1/selfsubject{access,rules}reviews
    POST                 /apis/authentication.k8s.io/v1/selfsubjectreviews
    GET POST             /api/v1/namespaces
    GET PUT PATCH DELETE /api/v1/namespaces/{name}
    GET PUT PATCH        /api/v1/namespaces/{name}/status
    PUT                  /api/v1/namespaces/{name}/finalize
    GET POST DELETE      /api/v1/namespaces/{namespace}/{secrets|configmaps|events}
    GET PUT PATCH DELETE /api/v1/namespaces/{namespace}/{secrets|configmaps|events}/{name}
    GET                  /api/v1/namespaces/{namespace}/services[/{name}]   (always empty)
    GET                  /api/v1/{secrets|configmaps|events|services}       (all namespaces)
    *                    anything else: 404 Status
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kcrypt.apiserver import discovery, openapi
from kcrypt.apiserver.auth import BearerAuthMiddleware
from kcrypt.apiserver.call import Context, now
from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.handlers import ResourceHandlers
from kcrypt.apiserver.lifecycle import NamespaceLifecycle
from kcrypt.apiserver.negotiation import Target as _Target
from kcrypt.apiserver.negotiation import render
from kcrypt.apiserver.status import error_status
from kcrypt.apiserver.version import version
from kcrypt.storage import ObjectStore

__all__ = ["create_app"]

log = logging.getLogger("kcrypt.apiserver.access")

_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _not_found(request: Request) -> Response:
    return render(error_status(ApiError.not_found()), _Target(), code=404)


class _AccessLog:
    """One debug line per request (method, path, status); never bodies or headers."""

    def __init__(self, app: ASGIApp, *, counter: Counter | None) -> None:
        self.app = app
        self.counter = counter
        self._children: dict[tuple[str, int], Any] = {}  # labels() once per (verb, code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method = scope.get("method", "")
            if method == "GET" and b"watch=true" in scope.get("query_string", b""):
                method = "WATCH"
            log.debug("%s %s %d", method, scope.get("path"), code)
            if self.counter is not None:
                child = self._children.get((method, code))
                if child is None:
                    child = self._children[(method, code)] = self.counter.labels(method, str(code))
                child.inc()


def create_app(
    *,
    store: ObjectStore,
    token_check: Callable[[str], bool],
    extra_routes: Sequence[BaseRoute] = (),
    metrics_registry: CollectorRegistry | None = None,
    clock: Callable[[], str] = now,
) -> Starlette:
    """The Kubernetes API over ``store``; every request needs a token ``token_check`` accepts
    (except anonymous health and version probes, see :mod:`.auth`).

    With ``metrics_registry``, ``apiserver_request_total{verb,code}`` is counted there.
    ``app.state.namespaces`` is the :class:`NamespaceLifecycle`.
    """
    lifecycle = NamespaceLifecycle(store, now=clock)
    h = ResourceHandlers(Context(store, clock=clock, namespace_terminating=lifecycle.kick))
    routes: list[BaseRoute] = [
        # Object routes first: Starlette tries routes in order, and these carry
        # nearly all traffic (none of them matches a discovery path).
        Route("/api/v1/namespaces/{namespace}/{resource}/{name}", h.namespaced_item, methods=_ALL),
        Route("/api/v1/namespaces/{namespace}/{resource}", h.namespaced_collection, methods=_ALL),
        Route("/api", discovery.api_versions, methods=["GET"]),
        Route("/apis", discovery.apis, methods=["GET"]),
        Route("/api/v1", discovery.api_resources, methods=["GET"]),
        Route("/apis/{group}", discovery.api_group, methods=["GET"]),
        Route("/apis/{group}/{version}", discovery.group_resources, methods=["GET"]),
        Route("/apis/{group}/{version}/{resource}", h.review, methods=_ALL),
        Route("/version", version, methods=["GET"]),
        Route("/openapi/v2", openapi.v2, methods=["GET"]),
        Route("/openapi/v3", openapi.v3_paths, methods=["GET"]),
        Route("/openapi/v3/{path:path}", openapi.v3_document, methods=["GET"]),
        Route("/api/v1/namespaces", h.namespaces, methods=_ALL),
        Route("/api/v1/namespaces/{name}", h.namespace, methods=_ALL),
        Route("/api/v1/{resource}", h.all_namespaces, methods=_ALL),
        *extra_routes,
        Route("/{path:path}", _not_found, methods=_ALL),
    ]
    counter = None
    if metrics_registry is not None:
        counter = Counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out for each verb and HTTP response code.",
            ["verb", "code"],
            registry=metrics_registry,
        )
    middleware = [
        Middleware(_AccessLog, counter=counter),
        Middleware(BearerAuthMiddleware, token_check=token_check),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        follower = asyncio.create_task(lifecycle.run(), name="kcrypt-namespaces")
        try:
            yield
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
            await lifecycle.close()

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.namespaces = lifecycle
    return app
