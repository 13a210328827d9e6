"""The one revisioned key-value contract every datastore engine honours.

Modelled on etcd v3 because that is what kube-apiserver needs and what kine
emulates for SQL. Semantics every engine must honour (the contract suite in
``tests/datastore/contract`` checks each of them on every engine):

* A single, cluster-wide, strictly increasing ``revision`` counts every
  successful mutation (create, update, delete, each put in a txn, each key a
  lease expiry removes); puts an engine applies in one physical transaction
  may share one revision (etcd gives a whole txn one). Reads never change
  it. A new store starts at a revision >= 1 with no keys.
* ``KeyValue.create_revision`` is the revision that created the key (a key
  deleted and created again gets a new one); ``mod_revision`` the revision of
  its last change; ``version`` counts changes since creation (1 on create).
* Keys are text (``/registry/secrets/ns/name``), values opaque bytes.
* ``range`` lists keys that start with ``prefix`` in byte order, strictly after
  ``start_after`` when given, at most ``limit`` (0 = all), as of ``revision``
  (0 = current); ``count`` counts the same keys without a limit.
  ``Page.revision`` is the revision the page was read at; pass it back to read
  the next page at the same point in time; ``more`` says whether keys remain.
  Reading at a compacted revision raises ``Compacted``.
  ``keys_only=True`` returns every field but the value (``b""``), for
  listings that need revisions only.
* ``written_since(prefix, revision=R, excluding=ranges)`` lists the live keys
  under ``prefix`` whose ``mod_revision`` is above R and inside none of the
  inclusive revision ranges given (a writer's own writes), with their values:
  what *others* wrote since R, without reading everything that changed.
* ``create`` fails with ``KeyExists`` when the key is live.
* ``update`` succeeds only if the key's current ``mod_revision`` equals the one
  given; on failure it returns the current value (``None`` when deleted), so
  the caller can retry without another read.
* ``delete`` with ``mod_revision`` compares the same way; without it, it
  deletes whatever is there. Deleting a missing key is ``ok=False``.
* ``txn_put`` applies independent compared puts: each ``PutIf`` succeeds or
  fails on its own compare (a put with ``mod_revision=0`` requires the key to
  be absent); successful ones are durable together when the call returns.
  Engines may split a batch into several physical transactions.
  ``TxnResult.revisions[i]`` is the ``mod_revision`` puts[i] got (0 when its
  compare failed), so a writer never reads a key back after its own put.
* ``watch`` yields every event on keys under ``prefix`` with revision >=
  ``start_revision``, once and in revision order, each with the previous value
  (``prev`` is None on create). It survives engine reconnects without gaps or
  duplicates, and raises ``Compacted`` if ``start_revision`` was compacted.
  Leaving the ``async for`` (or closing the iterator) ends the watch.
* Leases: ``grant_lease(ttl)`` returns an id; keys put with that lease are
  deleted (each deletion a normal event) when it expires or is revoked;
  ``keepalive`` renews it; both raise ``LeaseNotFound`` for unknown leases.
* ``compact(revision)`` forgets history before ``revision``; current values
  are never lost.
* ``history(prefix, start_revision=, end_revision=)`` yields every event
  under ``prefix`` the store still keeps with a revision in
  ``[start_revision, end_revision]``, in revision order, then ends (history
  below the compaction point is simply gone, not an error). With
  ``superseded=True`` only the values a later change (at or before
  ``end_revision``) replaced or deleted: the history proper, without the
  current values. Audits use it to find old ciphertexts and plaintext that
  only older revisions hold.
* ``snapshot(path)`` writes a consistent image of the whole store, as of one
  revision, to the new file ``path`` (created 0600; it must not exist), while
  the store keeps serving writes. The image is in the engine's own format
  (:class:`Image` ``kind``); :func:`kcrypt.datastore.open_image` opens it as a
  read-only store again.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "Datastore",
    "DeleteResult",
    "Event",
    "EventType",
    "Image",
    "KeyValue",
    "Page",
    "PutIf",
    "TxnResult",
    "UpdateResult",
]


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int = 1
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    kvs: tuple[KeyValue, ...]
    revision: int
    more: bool


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """``ok`` with the new ``revision``; or not ok with the ``current`` value."""

    ok: bool
    revision: int
    current: KeyValue | None


@dataclass(frozen=True, slots=True)
class DeleteResult:
    ok: bool
    revision: int
    previous: KeyValue | None


@dataclass(frozen=True, slots=True)
class PutIf:
    """Put ``value`` at ``key`` if its mod_revision is ``mod_revision`` (0: absent)."""

    key: str
    value: bytes
    mod_revision: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class TxnResult:
    """``succeeded[i]`` says whether ``puts[i]`` was applied and ``revisions[i]``
    the mod_revision it got (0 if not applied); ``revision`` is the store
    revision after the call."""

    revision: int
    succeeded: tuple[bool, ...]
    revisions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Image:
    """What :meth:`Datastore.snapshot` wrote.

    ``kind``: ``"sqlite"`` (a kine-layout SQLite file, one file, no WAL),
    ``"etcd"`` (exactly the file ``etcdctl snapshot save`` writes: bbolt
    database + sha256 trailer) or ``"memory"`` (kcrypt's JSON lines).
    ``revision``: the store revision the image holds; 0 when the engine cannot
    tell without opening it (etcd before 3.6 sends no header with the stream).
    """

    kind: str
    revision: int
    size: int


class EventType(enum.Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """A change. For DELETE, ``kv`` carries the key, an empty value and the
    deletion's revision as ``mod_revision``; ``prev`` the last live value."""

    type: EventType
    kv: KeyValue
    prev: KeyValue | None


@runtime_checkable
class Datastore(Protocol):
    """An engine: see the module docstring for the semantics."""

    @property
    def endpoint(self) -> str:
        """Printable endpoint, credentials removed (for messages and logs)."""
        ...

    async def revision(self) -> int: ...

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None: ...

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int = 0,
        keys_only: bool = False,
    ) -> Page: ...

    async def count(self, prefix: str, *, start_after: str | None = None, revision: int = 0) -> int:
        """Keys under ``prefix`` (strictly after ``start_after`` when given) at
        ``revision``: what is left of a paged list, as etcd's Range count says."""
        ...

    async def written_since(
        self,
        prefix: str,
        *,
        revision: int,
        excluding: Sequence[tuple[int, int]] = (),
    ) -> list[KeyValue]: ...

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        """Returns the new revision; raises KeyExists."""
        ...

    async def update(
        self, key: str, value: bytes, *, mod_revision: int, lease: int = 0
    ) -> UpdateResult: ...

    async def delete(self, key: str, *, mod_revision: int = 0) -> DeleteResult: ...

    async def txn_put(self, puts: Sequence[PutIf]) -> TxnResult: ...

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[Event]: ...

    async def grant_lease(self, ttl: int) -> int: ...

    async def keepalive(self, lease: int) -> int:
        """Renew; returns the TTL granted."""
        ...

    async def revoke_lease(self, lease: int) -> None: ...

    async def compact(self, revision: int) -> None: ...

    def history(
        self, prefix: str, *, start_revision: int, end_revision: int, superseded: bool = False
    ) -> AsyncIterator[Event]: ...

    async def snapshot(self, path: Path) -> Image: ...

    async def close(self) -> None: ...
