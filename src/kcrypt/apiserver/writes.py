"""Create, update (PUT), patch (JSON, merge, strategic, apply) and delete.

Every write follows kube-apiserver's order: decode; options validated (a
bad ``dryRun`` or ``fieldManager`` is a 422 before anything is read);
defaulting; the managed fields recorded (:mod:`.managedfields`, or
:mod:`.apply` for server-side apply); the strategy's own preparation;
validation; the compare-and-swap write. Subresources (a namespace's
``/status`` and ``/finalize``) take the same path with their own reset fields
and validation, and never create.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from kcrypt import storage
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver import params
from kcrypt.apiserver.apply import apply_patch, parse_apply
from kcrypt.apiserver.body import read_body
from kcrypt.apiserver.call import Call, Context, render_object
from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.goconv import ParseError, parse_uint
from kcrypt.apiserver.managedfields import record_update
from kcrypt.apiserver.patch import APPLY_PATCH, parse_patch
from kcrypt.apiserver.status import success_status
from kcrypt.apiserver.strategy import default, prepare_create, prepare_update
from kcrypt.apiserver.validation import validate, validate_update
from kcrypt.config._go import go_quote

__all__ = ["create", "delete", "delete_collection", "patch", "update"]

Obj = dict[str, Any]
_IMMORTAL = frozenset({"default", "kube-system", "kube-public"})


def _place(call: Call, obj: Obj, *, name: str | None = None) -> dict[str, Any]:
    """The object's metadata agrees with the URL (name, namespace) or it is a 400."""
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    if name is not None:
        if meta.get("name") and meta["name"] != name:
            raise ApiError.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        meta["name"] = name
    if call.namespace is not None:
        if meta.get("namespace") and meta["namespace"] != call.namespace:
            raise ApiError.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = call.namespace
    return meta


def _check_rv(call: Call, new: Obj, current: Obj) -> None:
    """``metadata.resourceVersion``: malformed is a 400, another version a 409."""
    wanted = str((new.get("metadata") or {}).get("resourceVersion") or "")
    if not wanted:
        return
    try:
        parse_uint(wanted)
    except ParseError as exc:
        raise ApiError.bad_request(
            f"metadata.resourceVersion: Invalid value: {go_quote(wanted)}: {exc}"
        ) from None
    if wanted != current["metadata"]["resourceVersion"]:
        raise storage.Conflict(call.resource, call.name)


def _finish_update(ctx: Context, call: Call, new: Obj, current: Obj, manager: str) -> Obj:
    """Defaulting, managed fields, the strategy and validation of an updated object."""
    if call.subresource:  # subresources never take managedFields from the request
        (new.get("metadata") or {}).pop("managedFields", None)
    prepare_update(call.kind.kind, new, current, subresource=call.subresource)
    record_update(
        current,
        new,
        manager=manager,
        resource=call.resource,
        subresource=call.subresource,
        now=ctx.clock,
    )
    validate_update(call.kind.kind, new, current, subresource=call.subresource)
    return new


async def _decode(call: Call, field_validation: str) -> tuple[Obj, list[str]]:
    return neg.decode_request(
        call.request.headers.get("content-type"),
        await read_body(call.request),
        expected=call.kind,
        field_validation=field_validation,
    )


async def create(ctx: Context, call: Call) -> Response:
    opts = params.write_options(call.request, verb="Create")
    obj, warnings = await _decode(call, opts.field_validation)
    meta = _place(call, obj)
    default(call.kind.kind, obj)
    record_update(None, obj, manager=opts.field_manager, resource=call.resource, now=ctx.clock)
    prepare_create(call.kind.kind, obj)
    validate(call.kind.kind, obj)
    if call.namespace is not None:
        await ctx.store.namespaces.require(
            call.namespace, resource=call.resource, name=str(meta.get("name") or "")
        )
    created = await ctx.store.create(call.resource, obj, dry_run=opts.dry_run)
    return render_object(call, created, warnings=warnings, code=201)


async def update(ctx: Context, call: Call) -> Response:
    opts = params.write_options(call.request, verb="Update")
    obj, warnings = await _decode(call, opts.field_validation)
    _place(call, obj, name=call.name)

    def fn(current: Obj) -> Obj:
        _check_rv(call, obj, current)
        return _finish_update(ctx, call, json.loads(json.dumps(obj)), current, opts.field_manager)

    updated = await ctx.store.guaranteed_update(
        call.resource, call.name, fn, namespace=call.namespace, dry_run=opts.dry_run
    )
    return render_object(call, updated, warnings=warnings)


async def patch(ctx: Context, call: Call) -> Response:
    media = (call.request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media == APPLY_PATCH:
        return await _apply(ctx, call)
    opts = params.write_options(call.request, verb="Patch")
    body = await read_body(call.request)
    change = parse_patch(call.request.headers.get("content-type"), body)
    warnings: list[str] = []

    def fn(current: Obj) -> Obj:
        patched = change.apply(current)
        if not isinstance(patched, dict):
            raise ApiError.bad_request("the patched object is not a JSON object")
        sent = (patched.get("metadata") or {}).get("managedFields")
        new, found = neg.decode_request(
            neg.JSON,
            json.dumps(patched).encode(),
            expected=call.kind,
            field_validation=opts.field_validation,
        )
        if sent == []:  # a reset the normalised object can no longer show
            new["metadata"]["managedFields"] = []
        warnings[:] = found
        _check_rv(call, new, current)
        return _finish_update(ctx, call, new, current, opts.field_manager)

    updated = await ctx.store.guaranteed_update(
        call.resource, call.name, fn, namespace=call.namespace, dry_run=opts.dry_run
    )
    return render_object(call, updated, warnings=warnings)


async def _apply(ctx: Context, call: Call) -> Response:
    opts = params.write_options(call.request, verb="Patch", apply=True)
    config = parse_apply(await read_body(call.request), call.kind)
    _place(call, config, name=call.name)

    def applied(current: Obj | None) -> Obj:
        new = apply_patch(
            current,
            config,
            manager=opts.field_manager,
            force=opts.force,
            resource=call.resource,
            subresource=call.subresource,
            now=ctx.clock,
        )
        default(call.kind.kind, new)
        return new

    def fn(current: Obj) -> Obj:
        new = applied(current)
        _check_rv(call, new, current)
        prepare_update(call.kind.kind, new, current, subresource=call.subresource)
        validate_update(call.kind.kind, new, current, subresource=call.subresource)
        return new

    for _attempt in range(3):
        try:
            updated = await ctx.store.guaranteed_update(
                call.resource, call.name, fn, namespace=call.namespace, dry_run=opts.dry_run
            )
            return render_object(call, updated)
        except storage.NotFound:
            if call.subresource:
                raise
        new = applied(None)  # apply creates what does not exist
        prepare_create(call.kind.kind, new)
        validate(call.kind.kind, new)
        if call.namespace is not None:
            await ctx.store.namespaces.require(
                call.namespace, resource=call.resource, name=call.name
            )
        try:
            created = await ctx.store.create(call.resource, new, dry_run=opts.dry_run)
        except storage.AlreadyExists:
            continue  # created meanwhile: apply to it
        return render_object(call, created, code=201)
    raise storage.Conflict(call.resource, call.name)


def _terminating(namespace: Obj) -> None:
    namespace.setdefault("status", {})["phase"] = "Terminating"


async def delete(ctx: Context, call: Call) -> Response:
    options = await params.delete_options(call.request)
    if call.resource == "namespaces" and call.name in _IMMORTAL:
        raise storage.Forbidden("namespaces", call.name, "this namespace may not be deleted")
    outcome = await ctx.store.delete(
        call.resource,
        call.name,
        namespace=call.namespace,
        preconditions=options.preconditions,
        dry_run=options.dry_run,
        mark=_terminating if call.resource == "namespaces" else None,
    )
    if call.resource == "namespaces" and not options.dry_run:
        ctx.namespace_terminating(call.name)
    if not outcome.deleted:  # marked, waiting for finalizers: the object itself
        return neg.render(outcome.obj, call.target)
    uid = (outcome.obj.get("metadata") or {}).get("uid")
    return neg.render(success_status(name=call.name, resource=call.resource, uid=uid), call.target)


async def delete_collection(ctx: Context, call: Call) -> Response:
    options = await params.delete_options(call.request)
    query = params.list_query(call.request, resource=call.resource)
    deleted: list[Obj] = []
    token: str | None = None
    while True:
        page = await ctx.store.list(
            call.resource,
            namespace=call.namespace,
            limit=500,
            continue_token=token,
            label_selector=query.label_selector,
            field_selector=query.field_selector,
        )
        for obj in page.items:
            try:
                outcome = await ctx.store.delete(
                    call.resource,
                    obj["metadata"]["name"],
                    namespace=call.namespace,
                    dry_run=options.dry_run,
                )
            except storage.NotFound:
                continue
            deleted.append(outcome.obj)
        if not page.continue_token:
            break
        token = page.continue_token
    body = {
        "kind": call.kind.list_kind,
        "apiVersion": call.kind.api_version,
        "metadata": {},
        "items": deleted,
    }
    return neg.render(body, call.target)
