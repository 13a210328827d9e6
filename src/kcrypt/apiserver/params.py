"""Request options from query parameters and DeleteOptions bodies.

Kept apart from :mod:`.resources` so the handlers read as "what the verb
does" while the rules for turning ``?limit=``, ``?dryRun=``, list queries and
a DeleteOptions body into typed values (and into 400s when they are wrong,
before anything is read or written) live in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver.errors import ApiError
from kcrypt.storage import Preconditions

__all__ = [
    "DeleteOptions",
    "ListQuery",
    "delete_options",
    "dry_run",
    "int_param",
    "list_query",
    "truthy",
]


def truthy(value: str | None) -> bool:
    """A boolean query parameter as kube-apiserver reads it ("true"/"1")."""
    return (value or "").lower() in ("true", "1")


def int_param(request: Request, name: str) -> int:
    """A non-negative integer query parameter; absent or empty is 0."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ApiError.bad_request(f"invalid {name} parameter: {raw!r} is not an integer") from None
    if value < 0:
        raise ApiError.bad_request(f"invalid {name} parameter: must be non-negative")
    return value


def dry_run(request: Request) -> bool:
    """``?dryRun=All`` (repeatable); any other value is a 400, as upstream."""
    values = request.query_params.getlist("dryRun")
    for v in values:
        if v != "All":
            raise ApiError.bad_request(f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return bool(values)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The query parameters of a list, as :meth:`kcrypt.storage.ObjectStore.list` takes them."""

    limit: int
    continue_token: str | None
    label_selector: str | None
    field_selector: str | None
    resource_version: str | None
    resource_version_match: str | None


def list_query(request: Request) -> ListQuery:
    """The list options of ``request``; a bad ``limit`` is a 400."""
    q = request.query_params
    return ListQuery(
        limit=int_param(request, "limit"),
        continue_token=q.get("continue") or None,
        label_selector=q.get("labelSelector"),
        field_selector=q.get("fieldSelector"),
        resource_version=q.get("resourceVersion"),
        resource_version_match=q.get("resourceVersionMatch"),
    )


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """What a DELETE asks for: preconditions, and dry run from the query or the body."""

    preconditions: Preconditions | None
    dry_run: bool


async def delete_options(request: Request) -> DeleteOptions:
    """``?dryRun=`` first (a bad value is a 400 before the body is read), then the body."""
    query_dry_run = dry_run(request)
    options = await _delete_options_body(request)
    pre = options.get("preconditions") or {}
    preconditions = (
        Preconditions(uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))
        if isinstance(pre, dict) and pre
        else None
    )
    return DeleteOptions(
        preconditions=preconditions,
        dry_run=query_dry_run or "All" in (options.get("dryRun") or []),
    )


async def _delete_options_body(request: Request) -> dict[str, Any]:
    """DeleteOptions from a JSON body; other encodings are ignored (no preconditions)."""
    body = await request.body()
    media = (request.headers.get("content-type") or neg.JSON).split(";", 1)[0].strip().lower()
    if not body.strip() or media != neg.JSON:
        return {}
    try:
        options = json.loads(body)
    except ValueError:
        raise ApiError.bad_request("the DeleteOptions body is not valid JSON") from None
    if not isinstance(options, dict):
        raise ApiError.bad_request("the DeleteOptions body is not a JSON object")
    return options
