"""Graceful deletion: finalizers keep an object until whoever owns them lets go.

kube-apiserver's generic registry deletes an object at once only when nothing
holds it. An object with ``metadata.finalizers`` is *marked* instead: its
``deletionTimestamp`` is set (``deletionGracePeriodSeconds: 0``) and the
DELETE answers 200 with the object; later DELETEs change nothing. The update
that removes the last finalizer of a marked object deletes it
(``shouldDeleteDuringUpdate``). A namespace is always marked first (its
``spec.finalizers`` belong to the namespace controller) and goes only when
both lists are empty. ``deletionTimestamp`` is the server's: a write never
sets, moves or clears it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcrypt.storage.objects import Obj, meta_of, now

__all__ = ["DeleteOutcome", "Marker", "finalized", "mark_deleting", "marked", "must_mark"]

Marker = Callable[[Obj], None]
"""Extra changes when an object is marked for deletion (a namespace's phase)."""


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """``deleted``: gone now; otherwise ``obj`` is marked and waits for its finalizers."""

    obj: Obj
    deleted: bool


def marked(obj: Obj) -> bool:
    return bool(meta_of(obj).get("deletionTimestamp"))


def finalized(resource: str, obj: Obj) -> bool:
    """Nothing holds ``obj`` any more: no metadata finalizers (nor namespace ones)."""
    if meta_of(obj).get("finalizers"):
        return False
    if resource == "namespaces":
        spec: Any = obj.get("spec") or {}
        return not (isinstance(spec, dict) and spec.get("finalizers"))
    return True


def mark_deleting(obj: Obj, *, mark: Marker | None = None) -> None:
    meta = meta_of(obj)
    meta["deletionTimestamp"] = now()
    meta["deletionGracePeriodSeconds"] = 0
    if mark is not None:
        mark(obj)


def must_mark(resource: str, obj: Obj) -> bool:
    """Does a DELETE of ``obj`` mark it rather than remove it?"""
    return resource == "namespaces" or not finalized(resource, obj)
