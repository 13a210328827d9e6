"""ObjectStore's writes: create, guaranteed update, delete (with finalizers).

Updates follow k8s.io/apiserver's ``GuaranteedUpdate``: read, let the caller
compute the new object, compare-and-swap on the revision read, and on a lost
race read again and call the caller again. The one rule that matters for
encryption at rest: an update whose encoded object equals the stored one is
*not* written, unless the stored value was read with a key that is no longer
the write key (``stale``), in which case it is rewritten under the write key.
That is exactly why ``kubectl get secrets -A -o json | kubectl replace -f -``
re-encrypts every secret on a real cluster, and it does here too.

Deletes honour finalizers (:mod:`kcrypt.storage.deletion`); creates check
the namespace (:mod:`kcrypt.storage.namespaces`) and give events their
lease (:mod:`kcrypt.storage.events`).
"""

from __future__ import annotations

import copy
import inspect
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kcrypt import codec
from kcrypt.datastore import errors as ds_errors
from kcrypt.datastore.contract import Datastore, KeyValue
from kcrypt.envelope import Transformer
from kcrypt.storage import values
from kcrypt.storage.deletion import (
    DeleteOutcome,
    Marker,
    finalized,
    mark_deleting,
    marked,
    must_mark,
)
from kcrypt.storage.errors import AlreadyExists, BadRequest, Conflict, NotFound
from kcrypt.storage.events import EventLeases
from kcrypt.storage.metrics import StorageMetrics
from kcrypt.storage.namespaces import NamespaceGuard
from kcrypt.storage.objects import (
    Obj,
    Preconditions,
    check_preconditions,
    keep_system_fields,
    meta_of,
    now,
)
from kcrypt.storage.readcache import ReadCache
from kcrypt.storage.transformers import TransformerRegistry

__all__ = ["ObjectWrites", "UpdateFn"]

log = logging.getLogger("kcrypt.storage")

UpdateFn = Callable[[Obj], Obj | Awaitable[Obj]]
"""Given the current object (a private copy), return the desired one, or raise."""

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand alphabet


class ObjectWrites:
    """The write half of :class:`~kcrypt.storage.store.ObjectStore` and the key and
    value helpers both halves use."""

    datastore: Datastore
    transformers: TransformerRegistry
    prefix: str
    metrics: StorageMetrics | None
    namespaces: NamespaceGuard
    read_cache: ReadCache
    event_leases: EventLeases | None

    # -- keys and values -------------------------------------------------

    def key(self, resource: str, name: str, *, namespace: str | None = None) -> str:
        """The storage key; a name that cannot be a path segment is a BadRequest."""
        kind = codec.kind_for_resource(resource)
        try:
            return codec.storage_key(
                resource, namespace if kind.namespaced else None, name, prefix=self.prefix
            )
        except codec.CodecError as exc:
            raise BadRequest(f"Name parameter invalid: {name!r}: {exc}") from None

    def _list_prefix(self, resource: str, namespace: str | None) -> str:
        kind = codec.kind_for_resource(resource)
        try:
            return codec.resource_prefix(
                resource, namespace if kind.namespaced else None, prefix=self.prefix
            )
        except codec.CodecError as exc:
            raise BadRequest(f"invalid namespace {namespace!r}: {exc}") from None

    async def _transform_out(
        self, resource: str, transformer: Transformer, key: str, data: bytes
    ) -> bytes:
        return await values.to_storage_async(resource, transformer, key, data, metrics=self.metrics)

    async def _read(self, resource: str, transformer: Transformer, kv: KeyValue) -> values.Read:
        return await values.read_row_async(resource, transformer, kv, metrics=self.metrics)

    def _object_reader(
        self, transformer: Callable[[], Transformer], resource: str
    ) -> Callable[[KeyValue], Awaitable[Obj]]:
        """Rows to objects with ``transformer()`` asked on every row (a watch outlives
        key changes: it must read each event with the live keys)."""

        async def read(kv: KeyValue) -> Obj:
            return (await self._read(resource, transformer(), kv)).obj

        return read

    # -- writes ------------------------------------------------------------

    async def create(self, resource: str, obj: Mapping[str, Any], *, dry_run: bool = False) -> Obj:
        """Create ``obj``; fills uid, creationTimestamp and a name from generateName.

        ``dry_run``: everything but the write (the result has no resourceVersion).
        """
        # Only the top level and metadata change below (the rest is encoded, never
        # kept), so copying those two leaves ``obj`` untouched at a fraction of a
        # deep copy's cost.
        new = dict(obj)
        meta = new.get("metadata")
        new["metadata"] = dict(meta) if isinstance(meta, dict) else {}
        new = values.typed(resource, new)
        meta = meta_of(new)
        namespace = meta.get("namespace") or None
        generate = not meta.get("name") and bool(meta.get("generateName"))
        transformer = self.transformers.for_resource(resource)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        for _attempt in range(8 if generate else 1):
            if generate:
                suffix = "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
                meta["name"] = f"{meta['generateName']}{suffix}"
            name = meta.get("name") or ""
            key = self.key(resource, name, namespace=namespace)
            data = values.encode(new)
            if dry_run:
                if await self.datastore.get(key) is not None:
                    continue
                return codec.decode_storage(data)
            value = await self._transform_out(resource, transformer, key, data)
            if namespace is not None:  # the last check before the write (namespaces.py)
                self.namespaces.check_not_terminating(namespace, resource=resource, name=name)
            try:
                revision = await self._put_new(resource, key, value)
            except ds_errors.KeyExists:
                continue
            if resource == "namespaces":
                self.namespaces.gone(name)  # created again: no deletion mark applies
            return values.decoded(data, revision)
        raise AlreadyExists(resource, str(meta.get("name", "")))

    async def _put_new(self, resource: str, key: str, value: bytes) -> int:
        """Create the row; events with a lease, so that they expire (see events.py)."""
        leases = self.event_leases
        if resource != "events" or leases is None:
            return await self.datastore.create(key, value)
        return await leases.call(lambda lease: self.datastore.create(key, value, lease=lease))

    async def update(
        self,
        resource: str,
        obj: Mapping[str, Any],
        *,
        prepare: Callable[[Obj, Obj], Obj] | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Replace the object named in ``obj`` (PUT).

        A ``metadata.resourceVersion`` in ``obj`` must equal the stored one
        (else Conflict); without one the update is unconditional. ``prepare``
        (new, current) -> new runs on every attempt (defaulting, validation).
        """
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        wanted_rv = str(meta.get("resourceVersion") or "")

        def fn(current: Obj) -> Obj:
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise Conflict(resource, name)
            new = copy.deepcopy(dict(obj))
            return prepare(new, current) if prepare is not None else new

        return await self.guaranteed_update(
            resource, name, fn, namespace=meta.get("namespace") or None, dry_run=dry_run
        )

    async def guaranteed_update(
        self,
        resource: str,
        name: str,
        fn: UpdateFn,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Read, ``fn(current) -> new``, CAS; on a lost race read again and repeat.

        Unchanged and not stale: nothing is written and ``current`` is returned
        with its resourceVersion. Unchanged but stale: rewritten under the
        current write key (a new resourceVersion).
        """
        key, transformer, kv = await self._current(resource, name, namespace)
        while True:
            if kv is None:
                raise NotFound(resource, name)
            read = await self._read(resource, transformer, kv)
            result = fn(copy.deepcopy(read.obj))
            new = await result if inspect.isawaitable(result) else result
            new = values.typed(resource, new)
            keep_system_fields(new, read.obj)
            data = values.encode(new)
            if data == read.plaintext and not read.stale:
                return read.obj
            if dry_run:
                return values.decoded(data, kv.mod_revision)
            if marked(new) and finalized(resource, new):  # its last finalizer went
                gone = await self._delete_row(resource, key, kv.mod_revision, new)
                if gone is not None:
                    return gone
                kv = await self.datastore.get(key)
                continue
            value = await self._transform_out(resource, transformer, key, data)
            outcome = await self.datastore.update(
                key, value, mod_revision=kv.mod_revision, lease=kv.lease
            )
            if outcome.ok:
                self.read_cache.forget(key)
                if data == read.plaintext:
                    log.info("rewrote stale value at %s", key)
                return values.decoded(data, outcome.revision)
            kv = outcome.current

    async def _current(
        self, resource: str, name: str, namespace: str | None
    ) -> tuple[str, Transformer, KeyValue | None]:
        """The storage key, the transformer this operation keeps, and the row now."""
        key = self.key(resource, name, namespace=namespace)
        return key, self.transformers.for_resource(resource), await self.datastore.get(key)

    async def _delete_row(self, resource: str, key: str, revision: int, last: Obj) -> Obj | None:
        """Remove the row if it is still at ``revision``; ``last`` (with the deletion's
        resourceVersion) on success, None when somebody changed it first."""
        outcome = await self.datastore.delete(key, mod_revision=revision)
        if not outcome.ok:
            return None
        self.read_cache.forget(key)
        if resource == "namespaces":
            self.namespaces.gone(meta_of(last).get("name") or "")
        gone = copy.deepcopy(last)
        meta_of(gone)["resourceVersion"] = str(outcome.revision)
        return gone

    async def delete(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        preconditions: Preconditions | None = None,
        dry_run: bool = False,
        mark: Marker | None = None,
    ) -> DeleteOutcome:
        """Delete, or mark for deletion while finalizers hold it (see deletion.py).

        Preconditions that do not hold are a Conflict; ``mark`` adds its own
        changes when the object is marked (a namespace becomes Terminating).
        """
        key, transformer, kv = await self._current(resource, name, namespace)
        while True:
            if kv is None:
                raise NotFound(resource, name)
            current = (await self._read(resource, transformer, kv)).obj
            check_preconditions(resource, name, current, preconditions)
            if must_mark(resource, current) and not marked(current):
                mark_deleting(current, mark=mark)
                if dry_run:
                    return DeleteOutcome(current, deleted=False)
                if resource == "namespaces":  # creates in it are refused from now on
                    self.namespaces.terminating(name)
                data = values.encode(values.typed(resource, copy.deepcopy(current)))
                value = await self._transform_out(resource, transformer, key, data)
                outcome = await self.datastore.update(
                    key, value, mod_revision=kv.mod_revision, lease=kv.lease
                )
                if outcome.ok:
                    self.read_cache.forget(key)
                    return DeleteOutcome(values.decoded(data, outcome.revision), deleted=False)
                kv = outcome.current
                continue
            if not finalized(resource, current):
                return DeleteOutcome(current, deleted=False)  # already marked, still held
            if dry_run:
                return DeleteOutcome(current, deleted=True)
            gone = await self._delete_row(resource, key, kv.mod_revision, current)
            if gone is not None:
                return DeleteOutcome(current, deleted=True)
            kv = await self.datastore.get(key)
