"""What one API request is about, and what every handler shares.

:class:`Call` names the request's target (kind, namespace, name,
subresource) and the representation the client asked for; :class:`Context`
is what handlers reach beyond the request: the store, the clock that stamps
managed fields, and the namespace lifecycle to wake when a namespace starts
terminating. Handlers are plain functions ``(ctx, call) -> Response``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kcrypt import codec
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver.table import partial_metadata, to_table
from kcrypt.storage import ObjectStore

__all__ = ["Call", "Context", "now", "render_object", "shape"]

Obj = dict[str, Any]


def now() -> str:
    """RFC3339 seconds, as metav1.Time marshals (managed fields' ``time``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Context:
    store: ObjectStore
    clock: Callable[[], str] = now
    namespace_terminating: Callable[[str], None] = field(default=_ignore)
    """Called with a namespace's name once it is marked for deletion."""


@dataclass(frozen=True, slots=True)
class Call:
    request: Request
    target: neg.Target
    kind: codec.Kind
    namespace: str | None
    name: str = ""
    subresource: str = ""

    @property
    def resource(self) -> str:
        return self.kind.resource


def shape(call: Call, obj: Obj) -> Any:
    """``obj`` as the client asked: itself, a one-row Table, or its metadata."""
    if call.target.as_ == "Table":
        include = call.request.query_params.get("includeObject", "")
        return to_table(call.kind.kind, [obj], include_object=include)
    if call.target.as_.startswith("PartialObjectMetadata"):
        return partial_metadata(obj)
    return obj


def render_object(
    call: Call, obj: Obj, *, warnings: list[str] | None = None, code: int = 200
) -> Response:
    """A single object, with the decoder's warnings as ``Warning`` headers."""
    return neg.render(
        shape(call, obj), call.target, code=code, headers=neg.warning_headers(warnings or [])
    )
