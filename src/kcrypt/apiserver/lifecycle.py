"""Namespace lifecycle: the default namespaces, and the namespace controller's deletion.

A DELETE only marks a namespace (``deletionTimestamp``, phase ``Terminating``,
see :mod:`kcrypt.storage.deletion`). :class:`NamespaceLifecycle` then does what
kube-controller-manager's namespace controller does (``deletion/
namespaced_resources_deleter.go``), for the namespaced kinds served here:

1. delete every secret, configmap and event in the namespace (objects held by
   their own finalizers stay, marked, until those finalizers go);
2. write the five deletion conditions with ``/status`` (upstream's types,
   reasons and messages, e.g. ``Some resources are remaining: configmaps. has 2
   resource instances``) and try again shortly while anything remains;
3. ``/finalize``: remove the ``kubernetes`` finalizer from ``spec.finalizers``;
   when no finalizer of either kind is left the namespace is deleted by that
   very update. Other finalizers keep it ``Terminating`` until their owners
   remove them (``PUT /finalize``, or a metadata update).

Work starts when this server marks a namespace (:meth:`NamespaceLifecycle.kick`)
and, through a watch (:meth:`NamespaceLifecycle.run`), when any server does or
after a restart. After a namespace is gone, one more sweep ``ttl * 1.5`` later
removes what another server created while it still believed the namespace was
there (see :mod:`kcrypt.storage.namespaces`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kcrypt import storage
from kcrypt.apiserver.managedfields import record_update
from kcrypt.apiserver.strategy import prepare_create
from kcrypt.storage import ObjectStore

__all__ = ["CONTENT", "DEFAULT_NAMESPACES", "NamespaceLifecycle", "ensure_default_namespaces"]

log = logging.getLogger("kcrypt.apiserver.namespaces")

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
CONTENT = ("configmaps", "events", "secrets")
_MANAGER = "namespace-controller"
_RETRY = 2.0

Obj = dict[str, Any]


async def ensure_default_namespaces(store: ObjectStore) -> None:
    """Create ``default``, ``kube-system`` and ``kube-public`` if missing (idempotent)."""
    for name in DEFAULT_NAMESPACES:
        obj = prepare_create("Namespace", {"metadata": {"name": name}})
        with contextlib.suppress(storage.AlreadyExists):
            await store.create("namespaces", obj)


def _condition(kind: str, failed: bool, bad: tuple[str, str], good: tuple[str, str]) -> Obj:
    reason, message = bad if failed else good
    return {
        "type": kind,
        "status": "True" if failed else "False",
        "reason": reason,
        "message": message,
    }


def conditions(remaining: dict[str, int], finalizers: dict[str, int]) -> list[Obj]:
    """The five deletion conditions for what is left (resource -> count, finalizer -> count)."""
    left = ", ".join(f"{r}. has {n} resource instances" for r, n in sorted(remaining.items()))
    held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
    return [
        _condition(
            "NamespaceDeletionDiscoveryFailure",
            False,
            ("", ""),
            ("ResourcesDiscovered", "All resources successfully discovered"),
        ),
        _condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            False,
            ("", ""),
            ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
        ),
        _condition(
            "NamespaceDeletionContentFailure",
            False,
            ("", ""),
            ("ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
        ),
        _condition(
            "NamespaceContentRemaining",
            bool(remaining),
            ("SomeResourcesRemain", f"Some resources are remaining: {left}"),
            ("ContentRemoved", "All content successfully removed"),
        ),
        _condition(
            "NamespaceFinalizersRemaining",
            bool(finalizers),
            (
                "SomeFinalizersRemain",
                f"Some content in the namespace has finalizers remaining: {held}",
            ),
            ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
        ),
    ]


class NamespaceLifecycle:
    """Drives marked namespaces to deletion. ``now`` stamps managed fields and
    condition times; ``sleep`` is injectable so tests need no real waits."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        now: Callable[[], str],
        retry: float = _RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.retry = retry
        self._now = now
        self._sleep = sleep
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sweeps: set[asyncio.Task[None]] = set()

    def kick(self, name: str) -> None:
        """Work on ``name`` now, unless that already happens."""
        running = self._tasks.get(name)
        if running is not None and not running.done():
            return
        task = asyncio.get_running_loop().create_task(self._process(name), name=f"ns-{name}")
        self._tasks[name] = task
        task.add_done_callback(
            lambda t: self._tasks.pop(name, None) if self._tasks.get(name) is t else None
        )

    async def settle(self, *, sweeps: bool = False) -> None:
        """Wait for the work started so far (and the late sweeps, if asked)."""
        while self._tasks or (sweeps and self._sweeps):
            pending = [*self._tasks.values(), *(self._sweeps if sweeps else ())]
            await asyncio.gather(*pending, return_exceptions=True)

    async def _process(self, name: str) -> None:
        try:
            while await self._step(name):
                await self._sleep(self.retry)
        except storage.NotFound:
            return
        except Exception:
            log.exception("deleting the content of namespace %s failed; it stays Terminating", name)

    async def _step(self, name: str) -> bool:
        """One pass; True when it must be tried again later."""
        ns = await self.store.get("namespaces", name)
        meta = ns.get("metadata") or {}
        if not meta.get("deletionTimestamp"):
            return False
        if "kubernetes" not in ((ns.get("spec") or {}).get("finalizers") or []):
            return False  # our part is done; other finalizers' owners finish it
        remaining, finalizers = await self._empty(name)
        await self._write_status(name, remaining, finalizers)
        if remaining:
            return True
        gone = await self._finalize(name)
        if gone:
            self._late_sweep(name)
        return False

    async def _empty(self, namespace: str) -> tuple[dict[str, int], dict[str, int]]:
        """Delete the content; what is left (held by finalizers) by resource and finalizer."""
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for resource in CONTENT:
            token: str | None = None
            while True:
                page = await self.store.list(
                    resource, namespace=namespace, limit=500, continue_token=token
                )
                for obj in page.items:
                    with contextlib.suppress(storage.NotFound):
                        outcome = await self.store.delete(
                            resource, obj["metadata"]["name"], namespace=namespace
                        )
                        if not outcome.deleted:
                            remaining[resource] = remaining.get(resource, 0) + 1
                            for f in outcome.obj["metadata"].get("finalizers") or []:
                                finalizers[f] = finalizers.get(f, 0) + 1
                token = page.continue_token or None
                if token is None:
                    break
        return remaining, finalizers

    async def _write_status(
        self, name: str, remaining: dict[str, int], finalizers: dict[str, int]
    ) -> None:
        def fn(current: Obj) -> Obj:
            live = copy.deepcopy(current)
            status = current.setdefault("status", {})
            status["phase"] = "Terminating"
            old = {c.get("type"): c for c in status.get("conditions") or []}
            fresh = []
            for c in conditions(remaining, finalizers):
                before = old.get(c["type"]) or {}
                same = before.get("status") == c["status"]
                c["lastTransitionTime"] = before.get("lastTransitionTime") if same else self._now()
                fresh.append(c)
            status["conditions"] = fresh
            record_update(
                live,
                current,
                manager=_MANAGER,
                resource="namespaces",
                subresource="status",
                now=self._now,
            )
            return current

        await self.store.guaranteed_update("namespaces", name, fn)

    async def _finalize(self, name: str) -> bool:
        """Drop the ``kubernetes`` finalizer; True when that deleted the namespace."""

        def fn(current: Obj) -> Obj:
            spec = current.setdefault("spec", {})
            spec["finalizers"] = sorted(
                f for f in spec.get("finalizers") or [] if f != "kubernetes"
            )
            return current

        await self.store.guaranteed_update("namespaces", name, fn)
        try:
            await self.store.get("namespaces", name)
        except storage.NotFound:
            log.info("namespace %s deleted", name)
            return True
        return False

    def _late_sweep(self, name: str) -> None:
        async def sweep() -> None:
            await self._sleep(self.store.namespaces.ttl * 1.5)
            with contextlib.suppress(storage.NotFound):
                await self.store.get("namespaces", name)
                return  # created again: what is in it now belongs to the new one
            with contextlib.suppress(Exception):
                await self._empty(name)

        task = asyncio.get_running_loop().create_task(sweep())
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    async def run(self) -> None:
        """Follow namespaces (all servers' deletions, and those left by a restart)."""
        while True:
            events = self.store.watch("namespaces")
            try:
                async for event in events:
                    meta = event.object.get("metadata") or {}
                    if event.type != "DELETED" and meta.get("deletionTimestamp"):
                        self.kick(meta["name"])
            except storage.Expired:
                continue  # re-list, as informers do
            except Exception as exc:  # the datastore went away: follow again shortly
                log.warning("following namespaces failed (%s); retrying", type(exc).__name__)
                await self._sleep(self.retry)
            finally:
                await events.aclose()  # type: ignore[attr-defined]

    async def close(self) -> None:
        for task in [*self._tasks.values(), *self._sweeps]:
            task.cancel()
        for task in [*self._tasks.values(), *self._sweeps]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
