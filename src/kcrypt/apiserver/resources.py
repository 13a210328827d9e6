"""Generic REST handlers for core/v1 secrets, configmaps and namespaces.

One handler per URL shape (collection, item), dispatching on the HTTP method
like kube-apiserver's generic registry: GET list/watch/get, POST create, PUT
update, PATCH patch, DELETE delete/deletecollection. Per-kind behaviour is
data (``kcrypt.codec.KINDS``), defaulting (:mod:`.strategy`) and validation
(:mod:`.validation`); nothing here knows about encryption, which happens in
the storage layer below.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kcrypt import codec, storage
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver import params
from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.patch import parse_patch
from kcrypt.apiserver.status import error_status, success_status
from kcrypt.apiserver.strategy import prepare_create, prepare_update
from kcrypt.apiserver.table import partial_metadata, to_table
from kcrypt.apiserver.validation import validate, validate_update
from kcrypt.apiserver.watch import watch_response
from kcrypt.storage import ObjectStore, Preconditions

__all__ = ["DEFAULT_NAMESPACES", "ResourceHandlers", "ensure_default_namespaces"]

log = logging.getLogger("kcrypt.apiserver")

Obj = dict[str, Any]
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
_UNDELETABLE = frozenset(DEFAULT_NAMESPACES)
_NAMESPACED = ("secrets", "configmaps")


async def ensure_default_namespaces(store: ObjectStore) -> None:
    """Create ``default``, ``kube-system`` and ``kube-public`` if missing (idempotent)."""
    for name in DEFAULT_NAMESPACES:
        obj = prepare_create("Namespace", {"metadata": {"name": name}})
        with contextlib.suppress(storage.AlreadyExists):
            await store.create("namespaces", obj)


class ResourceHandlers:
    """The Starlette endpoints over one :class:`ObjectStore`."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._sweeps: set[asyncio.Task[None]] = set()

    # -- endpoints -----------------------------------------------------------

    async def namespaces(self, request: Request) -> Response:
        return await self._guard(
            request, lambda t: self._collection(request, t, "namespaces", None)
        )

    async def namespace(self, request: Request) -> Response:
        name = request.path_params["name"]
        return await self._guard(
            request, lambda t: self._item(request, t, "namespaces", None, name)
        )

    async def namespaced_collection(self, request: Request) -> Response:
        resource, ns = request.path_params["resource"], request.path_params["namespace"]
        if resource not in _NAMESPACED:
            return await self._guard(request, _raise_not_found)
        return await self._guard(request, lambda t: self._collection(request, t, resource, ns))

    async def namespaced_item(self, request: Request) -> Response:
        params = request.path_params
        resource, ns, name = params["resource"], params["namespace"], params["name"]
        if resource not in _NAMESPACED:
            return await self._guard(request, _raise_not_found)
        return await self._guard(request, lambda t: self._item(request, t, resource, ns, name))

    async def all_namespaces(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in _NAMESPACED:
            return await self._guard(request, _raise_not_found)
        if request.method != "GET":
            return await self._guard(request, _raise_method_not_allowed)
        return await self._guard(request, lambda t: self._collection(request, t, resource, None))

    # -- plumbing ----------------------------------------------------------------

    async def _guard(
        self, request: Request, handler: Callable[[neg.Target], Awaitable[Response]]
    ) -> Response:
        try:
            target = neg.negotiate(request.headers.get("accept"))
        except ApiError as exc:
            return neg.render(error_status(exc), neg.Target(), code=exc.code)
        try:
            return await handler(target)
        except Exception as exc:  # every failure becomes a Status, never a traceback
            body = error_status(exc)
            try:
                return neg.render(body, neg.Target(target.media), code=body.get("code", 500))
            except ApiError:
                return neg.render(body, neg.Target(), code=body.get("code", 500))

    def _shape(self, kind: codec.Kind, obj: Obj, target: neg.Target, request: Request) -> Any:
        if target.as_ == "Table":
            include = request.query_params.get("includeObject", "")
            return to_table(kind.kind, [obj], include_object=include)
        if target.as_.startswith("PartialObjectMetadata"):
            return partial_metadata(obj)
        return obj

    def _render_object(
        self,
        kind: codec.Kind,
        obj: Obj,
        target: neg.Target,
        request: Request,
        *,
        warnings: list[str],
        code: int = 200,
    ) -> Response:
        """A written object as the client asked for it, with the decoder's warnings."""
        return neg.render(
            self._shape(kind, obj, target, request),
            target,
            code=code,
            headers=neg.warning_headers(warnings),
        )

    async def _require_namespace(self, namespace: str, *, resource: str, name: str) -> None:
        await self.store.namespaces.require(namespace, resource=resource, name=name)

    # -- collection: list, watch, create, deletecollection -------------------------

    async def _collection(
        self, request: Request, target: neg.Target, resource: str, ns: str | None
    ) -> Response:
        kind = codec.kind_for_resource(resource)
        if request.method == "GET":
            if params.truthy(request.query_params.get("watch")):
                return await self._watch(request, target, kind, ns)
            return await self._list(request, target, kind, ns)
        if request.method == "POST":
            return await self._create(request, target, kind, ns)
        if request.method == "DELETE" and kind.namespaced:
            return await self._delete_collection(request, target, kind, ns)
        raise ApiError.method_not_allowed()

    async def _list(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None
    ) -> Response:
        q = request.query_params
        query = params.list_query(request)
        result = await self.store.list(
            kind.resource,
            namespace=ns,
            limit=query.limit,
            continue_token=query.continue_token,
            label_selector=query.label_selector,
            field_selector=query.field_selector,
            resource_version=query.resource_version,
            resource_version_match=query.resource_version_match,
        )
        if target.as_ == "Table":
            body = to_table(
                kind.kind,
                result.items,
                resource_version=result.resource_version,
                continue_token=result.continue_token,
                include_object=q.get("includeObject", ""),
            )
            return neg.render(body, target)
        meta: Obj = {"resourceVersion": result.resource_version}
        if result.continue_token:
            meta["continue"] = result.continue_token
        if target.as_.startswith("PartialObjectMetadata"):
            body = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "items": [partial_metadata(o) for o in result.items],
            }
            return neg.render(body, target)
        body = {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": meta,
            "items": list(result.items),
        }
        return neg.render(body, target)

    async def _watch(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None
    ) -> Response:
        if target.media == neg.PROTOBUF:
            raise ApiError(406, "NotAcceptable", "watch streams are served as JSON only")
        q = request.query_params
        # Reject bad selectors and versions with a 400 before the 200 stream starts.
        storage.parse_label_selector(q.get("labelSelector"))
        storage.parse_field_selector(q.get("fieldSelector"), resource=kind.resource)
        rv = q.get("resourceVersion")
        if rv and not rv.isdigit():
            raise ApiError.bad_request(
                f'resourceVersion: Invalid value: "{rv}": must be an integer'
            )
        events = self.store.watch(
            kind.resource,
            namespace=ns,
            resource_version=rv,
            label_selector=q.get("labelSelector"),
            field_selector=q.get("fieldSelector"),
        )
        timeout = float(params.int_param(request, "timeoutSeconds")) or None
        return watch_response(
            events, render=lambda obj: self._shape(kind, obj, target, request), timeout=timeout
        )

    async def _create(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None
    ) -> Response:
        q = request.query_params
        dry_run = params.dry_run(request)
        obj, warnings = neg.decode_request(
            request.headers.get("content-type"),
            await request.body(),
            expected=kind,
            field_validation=q.get("fieldValidation", ""),
        )
        meta = obj.setdefault("metadata", {})
        if ns is not None:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise ApiError.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = ns
            await self._require_namespace(
                ns, resource=kind.resource, name=str(meta.get("name") or "")
            )
        prepare_create(kind.kind, obj)
        validate(kind.kind, obj)
        created = await self.store.create(kind.resource, obj, dry_run=dry_run)
        return self._render_object(kind, created, target, request, warnings=warnings, code=201)

    async def _delete_collection(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None
    ) -> Response:
        q = request.query_params
        dry_run = params.dry_run(request)
        deleted: list[Obj] = []
        token: str | None = None
        while True:
            page = await self.store.list(
                kind.resource,
                namespace=ns,
                limit=500,
                continue_token=token,
                label_selector=q.get("labelSelector"),
                field_selector=q.get("fieldSelector"),
            )
            for obj in page.items:
                try:
                    outcome = await self.store.delete(
                        kind.resource, obj["metadata"]["name"], namespace=ns, dry_run=dry_run
                    )
                    deleted.append(outcome.obj)
                except storage.NotFound:
                    continue
            if not page.continue_token:
                break
            token = page.continue_token
        body = {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": {},
            "items": deleted,
        }
        return neg.render(body, target)

    # -- item: get, update, patch, delete -----------------------------------------

    async def _item(
        self, request: Request, target: neg.Target, resource: str, ns: str | None, name: str
    ) -> Response:
        kind = codec.kind_for_resource(resource)
        if request.method == "GET":
            if not target.as_:  # the object itself: its bytes may come from the read cache
                content = await self.store.get_rendered(
                    resource,
                    name,
                    namespace=ns,
                    variant=target,
                    render=lambda obj: neg.encode(obj, target),
                )
                return neg.response(content, target)
            obj = await self.store.get(resource, name, namespace=ns)
            return neg.render(self._shape(kind, obj, target, request), target)
        if request.method == "PUT":
            return await self._update(request, target, kind, ns, name)
        if request.method == "PATCH":
            return await self._patch(request, target, kind, ns, name)
        if request.method == "DELETE":
            return await self._delete(request, target, kind, ns, name)
        raise ApiError.method_not_allowed()

    async def _update(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None, name: str
    ) -> Response:
        dry_run = params.dry_run(request)
        obj, warnings = neg.decode_request(
            request.headers.get("content-type"),
            await request.body(),
            expected=kind,
            field_validation=request.query_params.get("fieldValidation", ""),
        )
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise ApiError.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        meta["name"] = name
        if ns is not None:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise ApiError.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = ns
        updated = await self.store.update(
            kind.resource,
            obj,
            prepare=lambda new, current: _prepared_update(kind, new, current),
            dry_run=dry_run,
        )
        return self._render_object(kind, updated, target, request, warnings=warnings)

    async def _patch(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None, name: str
    ) -> Response:
        dry_run = params.dry_run(request)
        patch = parse_patch(request.headers.get("content-type"), await request.body())
        mode = request.query_params.get("fieldValidation", "")
        warnings: list[str] = []

        def fn(current: Obj) -> Obj:
            patched = patch.apply(current)
            if not isinstance(patched, dict):
                raise ApiError.bad_request("the patched object is not a JSON object")
            new, found = neg.decode_request(
                neg.JSON, json.dumps(patched).encode(), expected=kind, field_validation=mode
            )
            warnings[:] = found
            wanted = (new.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise storage.Conflict(kind.resource, name)
            return _prepared_update(kind, new, current)

        updated = await self.store.guaranteed_update(
            kind.resource, name, fn, namespace=ns, dry_run=dry_run
        )
        return self._render_object(kind, updated, target, request, warnings=warnings)

    async def _delete(
        self, request: Request, target: neg.Target, kind: codec.Kind, ns: str | None, name: str
    ) -> Response:
        options = await params.delete_options(request)
        preconditions, dry_run = options.preconditions, options.dry_run
        if kind.resource == "namespaces":
            if name in _UNDELETABLE:
                raise storage.Forbidden("namespaces", name, "this namespace may not be deleted")
            await self.store.get("namespaces", name)
        if kind.resource == "namespaces" and not dry_run:
            deleted = await self._delete_namespace(name, preconditions)
        else:
            deleted = (
                await self.store.delete(
                    kind.resource, name, namespace=ns, preconditions=preconditions, dry_run=dry_run
                )
            ).obj
        uid = (deleted.get("metadata") or {}).get("uid")
        return neg.render(success_status(name=name, resource=kind.resource, uid=uid), target)

    async def _delete_namespace(self, name: str, preconditions: Preconditions | None) -> Obj:
        """Empty, delete, empty again (see ``storage/namespaces.py`` for why that
        order keeps every create in the namespace from outliving it)."""
        marked = await self.store.delete("namespaces", name, preconditions=preconditions)
        await self._empty_namespace(name)
        await self.store.guaranteed_update("namespaces", name, _drop_spec_finalizers)
        deleted = marked.obj
        task = asyncio.create_task(self._late_sweep(name))
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)
        return deleted

    async def _late_sweep(self, name: str) -> None:
        """Once no server can still trust a cached "exists", remove what another
        server created meanwhile -- unless the namespace was created again."""
        await asyncio.sleep(self.store.namespaces.ttl * 1.5)
        try:
            with contextlib.suppress(storage.NotFound):
                await self.store.get("namespaces", name)
                return  # created again: what is in it now belongs to the new one
            await self._empty_namespace(name)
        except Exception:
            log.exception("late sweep of deleted namespace %s failed", name)

    async def _empty_namespace(self, namespace: str) -> None:
        """What the namespace controller does upstream, done before the namespace goes."""
        for resource in _NAMESPACED:
            while True:
                page = await self.store.list(resource, namespace=namespace, limit=500)
                for obj in page.items:
                    try:
                        await self.store.delete(
                            resource, obj["metadata"]["name"], namespace=namespace
                        )
                    except storage.NotFound:
                        continue
                if not page.continue_token:
                    break


def _drop_spec_finalizers(ns: Obj) -> Obj:
    ns["spec"] = {}
    return ns


def _prepared_update(kind: codec.Kind, new: Obj, current: Obj) -> Obj:
    """Defaulting then validation of an update; PUT and PATCH must agree on both."""
    prepare_update(kind.kind, new, current)
    validate_update(kind.kind, new, current)
    return new


async def _raise_not_found(_: neg.Target) -> Response:
    raise ApiError.not_found()


async def _raise_method_not_allowed(_: neg.Target) -> Response:
    raise ApiError.method_not_allowed()
