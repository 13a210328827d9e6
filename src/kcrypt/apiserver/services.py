"""``services``: served, and always empty (see :mod:`kcrypt.apiserver.served`).

A list answers an empty ServiceList (or Table) at the store's current
revision, a GET of any name 404 ``services "x" not found``, and a watch
stays open without events until its timeout -- what a real cluster with no
Services would answer. That is all ``kubectl cluster-info`` and ``kubectl get
all`` need.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from kcrypt import storage
from kcrypt.apiserver import negotiation as neg
from kcrypt.apiserver import params
from kcrypt.apiserver.table import to_table
from kcrypt.apiserver.watch import watch_response
from kcrypt.storage import ObjectStore, WatchEvent

__all__ = ["get_service", "list_services", "watch_services"]


async def _revision(store: ObjectStore) -> str:
    return str(await store.datastore.revision())


async def list_services(
    store: ObjectStore, target: neg.Target, query: params.ListQuery
) -> Response:
    storage.parse_label_selector(query.label_selector)
    storage.parse_field_selector(query.field_selector, resource="services")
    rv = await _revision(store)
    if target.as_ == "Table":
        return neg.render(to_table("Service", [], resource_version=rv), target)
    body: dict[str, Any] = {
        "kind": "ServiceList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": rv},
        "items": [],
    }
    if target.media == neg.PROTOBUF:  # no protobuf Service type here; JSON always does
        target = neg.Target(neg.JSON, target.as_)
    return neg.render(body, target)


def get_service(name: str) -> Response:
    raise storage.NotFound("services", name)


class _Idle:
    """No events, ever: the stream ends at its timeout or when the client goes."""

    def __aiter__(self) -> _Idle:
        return self

    async def __anext__(self) -> WatchEvent:
        await asyncio.Event().wait()
        raise StopAsyncIteration


def watch_services(query: params.ListQuery) -> Response:
    timeout = float(query.timeout_seconds) if query.timeout_seconds else None
    return watch_response(_Idle(), render=lambda obj: obj, timeout=timeout)
