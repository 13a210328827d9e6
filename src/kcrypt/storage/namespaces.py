"""May something be created in this namespace? Asked on every create, answered mostly
from memory.

Upstream's NamespaceLifecycle admission refuses a create in a namespace that
does not exist (404 ``namespaces "x" not found``) or that is being deleted
(403 ``unable to create new content in namespace x because it is being
terminated``, cause ``NamespaceTerminating``). Updates and deletes are not
checked.

Reading the Namespace object on each create cost ~12% of a create. The
answer changes rarely, so :class:`NamespaceGuard` remembers an *Active*
answer for ``ttl`` seconds (a missing or terminating namespace is always read
again). What keeps that safe is the deletion side:

* a namespace marked for deletion through this store is remembered as
  *terminating* at once (:meth:`NamespaceGuard.terminating`) until it is gone:
  every create in it through this store is refused from then on, including a
  create that passed its check earlier -- the store checks again right before
  its write;
* a create that was already past that last check when the mark was set
  commits no later than the mark itself, so the namespace controller's
  content sweep, which starts after the mark, removes it;
* another server sharing the datastore (etcd) may trust its memory for up to
  ``ttl`` after the mark; the controller sweeps once more ``ttl`` after the
  namespace is gone (:attr:`NamespaceGuard.ttl`), when no server still
  believes in it.

The same holds upstream: the admission plugin works from an informer cache,
and the namespace controller cleans up what slips by.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from kcrypt.storage.errors import Cause, Forbidden

__all__ = ["DEFAULT_NAMESPACE_TTL", "NamespaceGuard", "terminating_error"]

DEFAULT_NAMESPACE_TTL = 1.0
_MAX_ENTRIES = 10_000


def terminating_error(namespace: str, *, resource: str, name: str) -> Forbidden:
    """NamespaceLifecycle's refusal, with the ``NamespaceTerminating`` cause."""
    return Forbidden(
        resource,
        name,
        f"unable to create new content in namespace {namespace} because it is being terminated",
        causes=[
            Cause(
                "NamespaceTerminating",
                f"namespace {namespace} is being terminated",
                "metadata.namespace",
            )
        ],
    )


def _terminating(namespace: dict[str, Any]) -> bool:
    meta = namespace.get("metadata") or {}
    status = namespace.get("status") or {}
    return bool(meta.get("deletionTimestamp")) or status.get("phase") == "Terminating"


class NamespaceGuard:
    """``read(name)`` returns the Namespace (raising NotFound); ``clock`` is monotonic."""

    def __init__(
        self,
        read: Callable[[str], Awaitable[dict[str, Any]]],
        *,
        ttl: float = DEFAULT_NAMESPACE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._read = read
        self._clock = clock
        self._known: dict[str, float] = {}
        self._terminating: set[str] = set()

    async def require(self, namespace: str, *, resource: str, name: str) -> None:
        """NotFound unless ``namespace`` exists; Forbidden while it is being deleted."""
        self.check_not_terminating(namespace, resource=resource, name=name)
        expires = self._known.get(namespace)
        if expires is not None and expires > self._clock():
            return
        obj = await self._read(namespace)
        if _terminating(obj):
            self._terminating.add(namespace)
        self.check_not_terminating(namespace, resource=resource, name=name)
        if len(self._known) >= _MAX_ENTRIES:
            self._known.clear()
        self._known[namespace] = self._clock() + self.ttl

    def check_not_terminating(self, namespace: str, *, resource: str, name: str) -> None:
        if namespace in self._terminating:
            raise terminating_error(namespace, resource=resource, name=name)

    def terminating(self, namespace: str) -> None:
        """``namespace`` was marked for deletion here: refuse creates in it from now on."""
        self._known.pop(namespace, None)
        self._terminating.add(namespace)

    def gone(self, namespace: str) -> None:
        """``namespace`` was deleted (or created again): forget all about it."""
        self._known.pop(namespace, None)
        self._terminating.discard(namespace)
