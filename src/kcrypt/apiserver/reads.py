"""GET, list and watch of stored objects.

A GET of the object itself (no Table) is served through the store's read
cache as ready bytes. A list answers in the client's representation with
``resourceVersion``, ``continue`` and ``remainingItemCount`` in its metadata.
A watch is checked entirely before its 200 starts (selectors, versions,
timeouts), then streams JSON lines (:mod:`kcrypt.apiserver.watch`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kcrypt import storage
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver import params
from kcrypt.apiserver.call import Call, Context, shape
from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.table import partial_metadata, to_table
from kcrypt.apiserver.watch import watch_response

__all__ = ["get_object", "list_objects", "watch_objects"]

Obj = dict[str, Any]


async def get_object(ctx: Context, call: Call) -> Response:
    if call.request.scope.get("query_string"):  # most GETs have none: skip the parse
        params.check_resource_version(call.request.query_params.get("resourceVersion"))
    if not call.target.as_:  # the object itself: its bytes may come from the read cache
        content = await ctx.store.get_rendered(
            call.resource,
            call.name,
            namespace=call.namespace,
            variant=call.target,
            render=lambda obj: neg.encode(obj, call.target),
        )
        return neg.response(content, call.target)
    obj = await ctx.store.get(call.resource, call.name, namespace=call.namespace)
    return neg.render(shape(call, obj), call.target)


def list_body(call: Call, page: storage.ObjectList) -> Any:
    """The list document for ``page`` in the negotiated representation."""
    if call.target.as_ == "Table":
        return to_table(
            call.kind.kind,
            page.items,
            resource_version=page.resource_version,
            continue_token=page.continue_token,
            remaining=page.remaining_item_count,
            include_object=call.request.query_params.get("includeObject", ""),
        )
    meta: Obj = {"resourceVersion": page.resource_version}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining_item_count is not None:
        meta["remainingItemCount"] = page.remaining_item_count
    if call.target.as_.startswith("PartialObjectMetadata"):
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": [partial_metadata(o) for o in page.items],
        }
    return {
        "kind": call.kind.list_kind,
        "apiVersion": call.kind.api_version,
        "metadata": meta,
        "items": list(page.items),
    }


async def list_objects(ctx: Context, call: Call, query: params.ListQuery) -> Response:
    page = await ctx.store.list(
        call.resource,
        namespace=call.namespace,
        limit=query.limit,
        continue_token=query.continue_token,
        label_selector=query.label_selector,
        field_selector=query.field_selector,
        resource_version=query.resource_version,
        resource_version_match=query.resource_version_match,
    )
    return neg.render(list_body(call, page), call.target)


async def watch_objects(ctx: Context, call: Call, query: params.ListQuery) -> Response:
    if call.target.media == neg.PROTOBUF:
        raise ApiError(406, "NotAcceptable", "watch streams are served as JSON only")
    # Bad selectors are a 400 before the 200 stream starts.
    storage.parse_label_selector(query.label_selector)
    storage.parse_field_selector(query.field_selector, resource=call.resource)
    events = ctx.store.watch(
        call.resource,
        namespace=call.namespace,
        resource_version=query.resource_version,
        label_selector=query.label_selector,
        field_selector=query.field_selector,
    )
    timeout = float(query.timeout_seconds) if query.timeout_seconds else None
    return watch_response(events, render=lambda obj: shape(call, obj), timeout=timeout)
