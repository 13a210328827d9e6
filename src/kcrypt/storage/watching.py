"""Datastore watch events -> Kubernetes watch events, with selector transitions.

Kept apart from :mod:`kcrypt.storage.store` because turning raw put/delete
events into ADDED/MODIFIED/DELETED is its own concern: with a selector, an
object that stops matching is reported DELETED and one that starts matching
ADDED, as kube-apiserver does, which needs the previous value of each row.

A watch lives longer than any one set of transformers: keys are added,
promoted and removed while ``kubectl get -w`` runs. ``read`` therefore
decrypts each event with the transformers that are live *when the event is
read* (the store passes a function that asks the registry every time). An
event that no live key can read any more -- a value written under a key that
has since been removed, reached by a watcher far behind -- ends the watch with
kube-apiserver's ``410 Expired``, exactly as if that history had been
compacted: clients re-list, and the list reads current values, which the
live keys can read. So does a start revision that was really compacted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from kcrypt.datastore import errors as ds_errors
from kcrypt.datastore.contract import Datastore, EventType, KeyValue
from kcrypt.storage.errors import Expired, InternalError
from kcrypt.storage.objects import Obj, WatchEvent, matches, meta_of
from kcrypt.storage.selectors import FieldSelector, LabelSelector

__all__ = ["watch_changes", "watch_event"]

log = logging.getLogger("kcrypt.storage.watch")


async def watch_changes(
    datastore: Datastore,
    key_prefix: str,
    read: Callable[[KeyValue], Awaitable[Obj]],
    *,
    start_revision: int,
    labels: LabelSelector,
    fields: FieldSelector,
    resource_version: str | None,
) -> AsyncGenerator[WatchEvent, None]:
    """Events under ``key_prefix`` from ``start_revision`` on, filtered by the selectors.

    ``read`` turns a stored row into its object; ``resource_version`` is only
    used in the Expired message when the start revision was compacted.
    """
    selective = not (labels.empty and fields.empty)
    try:
        async with aclosing(
            datastore.watch(key_prefix, start_revision=start_revision)  # type: ignore[type-var]
        ) as events:
            async for ev in events:
                try:
                    event = await watch_event(read, ev, labels, fields, selective=selective)
                except InternalError:
                    log.warning(
                        "watch on %s ends with 410: the value at revision %d cannot be read "
                        "with the current encryption keys",
                        key_prefix,
                        ev.kv.mod_revision,
                    )
                    raise Expired(
                        f"too old resource version: {resource_version} ({ev.kv.mod_revision})"
                    ) from None
                if event is not None:
                    yield event
    except ds_errors.Compacted as exc:
        raise Expired(
            f"too old resource version: {resource_version} ({exc.compact_revision})"
        ) from None


async def watch_event(
    read: Callable[[KeyValue], Awaitable[Obj]],
    ev: Any,
    labels: LabelSelector,
    fields: FieldSelector,
    *,
    selective: bool,
) -> WatchEvent | None:
    """The watch event one datastore event means to this watcher, or None."""
    if ev.type is EventType.DELETE:
        if ev.prev is None:
            return None
        old = await read(ev.prev)
        meta_of(old)["resourceVersion"] = str(ev.kv.mod_revision)
        return WatchEvent("DELETED", old) if matches(old, labels, fields) else None
    new = await read(ev.kv)
    created = ev.prev is None or ev.kv.create_revision == ev.kv.mod_revision
    now_in = matches(new, labels, fields)
    if created:
        return WatchEvent("ADDED", new) if now_in else None
    was_in = True
    if selective:
        was_in = matches(await read(ev.prev), labels, fields)
    if now_in:
        return WatchEvent("MODIFIED" if was_in else "ADDED", new)
    return WatchEvent("DELETED", new) if was_in else None
