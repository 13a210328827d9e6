"""The Starlette endpoints: which verb of which handler a request is.

One endpoint per URL shape (collection, item, a namespace's subresource,
all namespaces), dispatching on the HTTP method like kube-apiserver's
generic registry: GET list/watch/get, POST create, PUT update, PATCH patch,
DELETE delete/deletecollection. Per-kind behaviour is data (:mod:`.served`,
``kcrypt.codec.KINDS``), defaulting (:mod:`.strategy`) and validation
(:mod:`.validation`); nothing here knows about encryption, which happens in
the storage layer below. Every failure becomes a ``Status``
(:mod:`.status`), never a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from kcrypt import codec
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver import params, reads, reviews, services, writes
from kcrypt.apiserver.call import Call, Context
from kcrypt.apiserver.errors import ApiError, ClientGone
from kcrypt.apiserver.served import core_resource
from kcrypt.apiserver.status import error_status

__all__ = ["ResourceHandlers", "guard"]

Handler = Callable[[neg.Target], Awaitable[Response]]
_SUBRESOURCES = {"status": ("GET", "PUT", "PATCH"), "finalize": ("PUT",)}


async def guard(request: Request, handler: Handler) -> Response:
    """Negotiate the response type, run ``handler``, turn any failure into a Status."""
    try:
        target = neg.negotiate(request.headers.get("accept"))
    except ApiError as exc:
        return neg.render(error_status(exc), neg.Target(), code=exc.code)
    try:
        return await handler(target)
    except ClientGone:
        return Response(status_code=400)  # nobody is listening; already logged once
    except Exception as exc:  # every failure becomes a Status, never a traceback
        body = error_status(exc)
        headers = exc.headers if isinstance(exc, ApiError) else None
        code = body.get("code", 500)
        try:
            return neg.render(body, neg.Target(target.media), code=code, headers=headers)
        except ApiError:
            return neg.render(body, neg.Target(), code=code, headers=headers)


async def _not_found(_: neg.Target) -> Response:
    raise ApiError.not_found()


class ResourceHandlers:
    """The endpoints over one :class:`Context` (store, clock, namespace lifecycle)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def namespaces(self, request: Request) -> Response:
        return await guard(request, lambda t: self._collection(request, t, "namespaces", None))

    async def namespace(self, request: Request) -> Response:
        name = request.path_params["name"]
        return await guard(request, lambda t: self._item(request, t, "namespaces", None, name))

    async def namespaced_collection(self, request: Request) -> Response:
        resource, ns = request.path_params["resource"], request.path_params["namespace"]
        if resource in _SUBRESOURCES:  # /api/v1/namespaces/<name>/status|finalize
            return await guard(
                request, lambda t: self._item(request, t, "namespaces", None, ns, resource)
            )
        served = core_resource(resource)
        if served is None or not served.namespaced:
            return await guard(request, _not_found)
        return await guard(request, lambda t: self._collection(request, t, resource, ns))

    async def namespaced_item(self, request: Request) -> Response:
        p = request.path_params
        resource, ns, name = p["resource"], p["namespace"], p["name"]
        served = core_resource(resource)
        if served is None or not served.namespaced:
            return await guard(request, _not_found)
        return await guard(request, lambda t: self._item(request, t, resource, ns, name))

    async def all_namespaces(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        served = core_resource(resource)
        if served is None or not served.namespaced:
            return await guard(request, _not_found)
        if request.method != "GET":
            return await guard(request, _method_not_allowed)
        return await guard(request, lambda t: self._collection(request, t, resource, None))

    async def review(self, request: Request) -> Response:
        return await guard(request, lambda t: reviews.review(request))

    # -- dispatch ----------------------------------------------------------------------

    async def _collection(
        self, request: Request, target: neg.Target, resource: str, ns: str | None
    ) -> Response:
        if resource == "services":
            return await self._services(request, target, None)
        call = Call(request, target, codec.kind_for_resource(resource), ns)
        if request.method == "GET":
            query = params.list_query(request, resource=resource)
            if query.watch:
                return await reads.watch_objects(self.ctx, call, query)
            return await reads.list_objects(self.ctx, call, query)
        if request.method == "POST":
            return await writes.create(self.ctx, call)
        if request.method == "DELETE" and call.kind.namespaced:
            return await writes.delete_collection(self.ctx, call)
        raise ApiError.method_not_allowed()

    async def _item(
        self,
        request: Request,
        target: neg.Target,
        resource: str,
        ns: str | None,
        name: str,
        subresource: str = "",
    ) -> Response:
        if resource == "services":
            return await self._services(request, target, name)
        kind = codec.kind_for_resource(resource)
        call = Call(request, target, kind, ns, name, subresource)
        method = request.method
        if subresource and method not in _SUBRESOURCES[subresource]:
            raise ApiError.method_not_allowed()
        if method == "GET":
            return await reads.get_object(self.ctx, call)
        if method == "PUT":
            return await writes.update(self.ctx, call)
        if method == "PATCH":
            return await writes.patch(self.ctx, call)
        if method == "DELETE":
            return await writes.delete(self.ctx, call)
        raise ApiError.method_not_allowed()

    async def _services(self, request: Request, target: neg.Target, name: str | None) -> Response:
        if request.method != "GET":
            raise ApiError.method_not_allowed()
        if name is not None:
            return services.get_service(name)
        query = params.list_query(request, resource="services")
        if query.watch:
            return services.watch_services(query)
        return await services.list_services(self.ctx.store, target, query)


async def _method_not_allowed(_: neg.Target) -> Response:
    raise ApiError.method_not_allowed()
