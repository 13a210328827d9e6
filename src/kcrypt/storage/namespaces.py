"""Does a namespace exist? Asked on every create, answered mostly from memory.

Reading the Namespace object on each create cost ~12% of a create. The
answer changes rarely, so :class:`NamespaceGuard` remembers a *positive*
answer for ``ttl`` seconds (a missing namespace is always read again: it may
be created any moment). What keeps that safe is the deletion side:

* a namespace deleted through this store is forgotten at once and marked
  *terminating* for the whole deletion (:meth:`NamespaceGuard.terminating`):
  every create in it through this store fails with NotFound from then on,
  including a create that passed its check earlier -- the store checks the
  mark again right before its write;
* a create that was already past that last check when the mark was set
  commits no later than the deletion's own writes (it is ahead of them), so
  the deleter's sweep after the Namespace is gone removes it;
* another server sharing the datastore (etcd) may trust its memory for up to
  ``ttl`` after the Namespace is gone; the deleter sweeps once more after
  ``ttl`` (:attr:`NamespaceGuard.ttl`), when no server still believes in it.

The same holds upstream: kube-apiserver's NamespaceLifecycle admission works
from an informer cache, and the namespace controller cleans up what slips by.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from kcrypt.storage.errors import NotFound

__all__ = ["DEFAULT_NAMESPACE_TTL", "NamespaceGuard"]

DEFAULT_NAMESPACE_TTL = 1.0
_MAX_ENTRIES = 10_000


class NamespaceGuard:
    """``read(name)`` reads the Namespace (raising NotFound); ``clock`` is monotonic."""

    def __init__(
        self,
        read: Callable[[str], Awaitable[object]],
        *,
        ttl: float = DEFAULT_NAMESPACE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._read = read
        self._clock = clock
        self._known: dict[str, float] = {}
        self._terminating: dict[str, int] = {}

    async def require(self, name: str) -> None:
        """NotFound unless ``name`` exists and is not being deleted here."""
        self.check_not_terminating(name)
        expires = self._known.get(name)
        if expires is not None and expires > self._clock():
            return
        await self._read(name)
        if name in self._terminating:  # deletion began while we were reading
            raise NotFound("namespaces", name)
        if len(self._known) >= _MAX_ENTRIES:
            self._known.clear()
        self._known[name] = self._clock() + self.ttl

    def check_not_terminating(self, name: str) -> None:
        if name in self._terminating:
            raise NotFound("namespaces", name)

    def forget(self, name: str) -> None:
        self._known.pop(name, None)

    @contextmanager
    def terminating(self, name: str) -> Iterator[None]:
        """While inside, creates in ``name`` through this store fail with NotFound."""
        self._known.pop(name, None)
        self._terminating[name] = self._terminating.get(name, 0) + 1
        try:
            yield
        finally:
            left = self._terminating[name] - 1
            if left:
                self._terminating[name] = left
            else:
                del self._terminating[name]
            self._known.pop(name, None)
