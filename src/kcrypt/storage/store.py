"""ObjectStore: Kubernetes objects over the datastore, with kube-apiserver's semantics.

An object is kept at its storage key (``/registry/secrets/<ns>/<name>``) as
the codec's protobuf bytes passed through the resource's transformer, with
the full key as the transformer's additional data (:mod:`kcrypt.storage.values`).
``resourceVersion`` is the datastore's ``mod_revision`` and is never stored
inside the value.

Updates follow k8s.io/apiserver's ``GuaranteedUpdate``: read, let the caller
compute the new object, compare-and-swap on the revision read, and on a lost
race read again and call the caller again. The one rule that matters for
encryption at rest: an update whose encoded object equals the stored one is
*not* written, unless the stored value was read with a key that is no longer
the write key (``stale``), in which case it is rewritten under the write key.
That is exactly why ``kubectl get secrets -A -o json | kubectl replace -f -``
re-encrypts every secret on a real cluster, and it does here too.

List paging (continue tokens, one consistent snapshot per paged list) lives
in :mod:`kcrypt.storage.paging`, and turning datastore events into watch
events in :mod:`kcrypt.storage.watching`; ``ObjectStore`` owns keys and the
transformer and hands them a ``read`` function.

:meth:`ObjectStore.get_rendered` serves a GET's response bytes through a
bounded :class:`~kcrypt.storage.readcache.ReadCache` (decrypted data in
memory, checked against the row read on every request; see that module).
"""

from __future__ import annotations

import copy
import inspect
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import aclosing
from typing import Any

from kcrypt import codec
from kcrypt.datastore import errors as ds_errors
from kcrypt.datastore.contract import Datastore, KeyValue
from kcrypt.envelope import Transformer
from kcrypt.storage import values
from kcrypt.storage.errors import AlreadyExists, BadRequest, Conflict, NotFound
from kcrypt.storage.events import DEFAULT_EVENT_TTL, EventLeases
from kcrypt.storage.metrics import StorageMetrics
from kcrypt.storage.namespaces import NamespaceGuard
from kcrypt.storage.objects import (
    Obj,
    ObjectList,
    Preconditions,
    WatchEvent,
    check_preconditions,
    keep_system_fields,
    meta_of,
    now,
    parse_rv,
)
from kcrypt.storage.paging import list_page
from kcrypt.storage.readcache import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, ReadCache
from kcrypt.storage.selectors import parse_field_selector, parse_label_selector
from kcrypt.storage.transformers import TransformerRegistry
from kcrypt.storage.watching import watch_changes

__all__ = ["ObjectList", "ObjectStore", "Preconditions", "UpdateFn", "WatchEvent"]

log = logging.getLogger("kcrypt.storage")

UpdateFn = Callable[[Obj], Obj | Awaitable[Obj]]
"""Given the current object (a private copy), return the desired one, or raise."""

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand alphabet
MAX_REVISION = 2**63 - 1
"""etcd's revisions are int64; no store ever gets here."""


class ObjectStore:
    """Typed get/list/create/update/delete/watch of Kubernetes objects (JSON-form dicts).

    ``transformers`` is consulted once per operation; ``prefix`` is the
    key prefix (kube-apiserver's ``--etcd-prefix``, default ``/registry``).
    ``read_cache_entries``/``read_cache_bytes`` bound the GET read cache
    (``read_cache_entries=0``: off).
    """

    def __init__(
        self,
        datastore: Datastore,
        transformers: TransformerRegistry,
        *,
        prefix: str = codec.DEFAULT_PREFIX,
        metrics: StorageMetrics | None = None,
        read_cache_entries: int = DEFAULT_MAX_ENTRIES,
        read_cache_bytes: int = DEFAULT_MAX_BYTES,
        event_ttl: float = DEFAULT_EVENT_TTL,
    ) -> None:
        self.datastore = datastore
        self.transformers = transformers
        self.prefix = prefix
        self.metrics = metrics
        self.namespaces = NamespaceGuard(self._read_namespace)
        self.read_cache = ReadCache(max_entries=read_cache_entries, max_bytes=read_cache_bytes)
        self.event_leases = EventLeases(datastore, ttl=event_ttl) if event_ttl > 0 else None
        transformers.on_swap(self.read_cache.clear)

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

    def _transform_out(
        self, resource: str, transformer: Transformer, key: str, data: bytes
    ) -> bytes:
        return values.to_storage(resource, transformer, key, data, metrics=self.metrics)

    def _read(self, resource: str, transformer: Transformer, kv: KeyValue) -> values.Read:
        return values.read_row(resource, transformer, kv, metrics=self.metrics)

    # -- reads -------------------------------------------------------------

    async def _read_namespace(self, name: str) -> None:
        key = self.key("namespaces", name)
        if await self.datastore.get(key) is None:
            raise NotFound("namespaces", name)

    async def get(self, resource: str, name: str, *, namespace: str | None = None) -> Obj:
        key = self.key(resource, name, namespace=namespace)
        kv = await self.datastore.get(key)
        if kv is None:
            raise NotFound(resource, name)
        return self._read(resource, self.transformers.for_resource(resource), kv).obj

    async def get_rendered(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        variant: Hashable,
        render: Callable[[Obj], bytes],
    ) -> bytes:
        """``render(get(...))``, from the read cache when the row is unchanged.

        The datastore read always happens (existence and resourceVersion come
        from it); only decrypt, decode and ``render`` are skipped on a hit.
        ``variant`` names what ``render`` produces (e.g. the media type); the
        same ``variant`` must always mean the same rendering.
        """
        key = self.key(resource, name, namespace=namespace)
        kv = await self.datastore.get(key)
        if kv is None:
            raise NotFound(resource, name)
        cache = self.read_cache
        if not cache.enabled:
            return render(self._read(resource, self.transformers.for_resource(resource), kv).obj)
        source, generation = self.transformers.snapshot()
        rendered = cache.lookup(
            key, variant, revision=kv.mod_revision, generation=generation, value=kv.value
        )
        if rendered is None:
            rendered = render(self._read(resource, source.for_resource(resource), kv).obj)
            cache.store(
                key,
                variant,
                rendered,
                revision=kv.mod_revision,
                generation=generation,
                value=kv.value,
            )
        return rendered

    async def list(
        self,
        resource: str,
        *,
        namespace: str | None = None,
        limit: int = 0,
        continue_token: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ObjectList:
        """One page of at most ``limit`` matching objects (0: all); see paging.py."""
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector, resource=resource)
        key_prefix = self._list_prefix(resource, namespace)
        transformer = self.transformers.for_resource(resource)
        return await list_page(
            self.datastore,
            key_prefix,
            lambda kv: self._read(resource, transformer, kv).obj,
            labels=labels,
            fields=fields,
            limit=limit,
            continue_token=continue_token,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
        )

    # -- writes ------------------------------------------------------------

    async def create(self, resource: str, obj: Mapping[str, Any], *, dry_run: bool = False) -> Obj:
        """Create ``obj``; fills uid, creationTimestamp and a name from generateName.

        ``dry_run``: everything but the write (the result has no resourceVersion).
        """
        new = values.typed(resource, copy.deepcopy(dict(obj)))
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
            value = self._transform_out(resource, transformer, key, data)
            if namespace is not None:  # the last check before the write (namespaces.py)
                self.namespaces.check_not_terminating(namespace)
            try:
                revision = await self._put_new(resource, key, value)
            except ds_errors.KeyExists:
                continue
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
        key = self.key(resource, name, namespace=namespace)
        transformer = self.transformers.for_resource(resource)
        kv = await self.datastore.get(key)
        while True:
            if kv is None:
                raise NotFound(resource, name)
            read = self._read(resource, transformer, kv)
            result = fn(copy.deepcopy(read.obj))
            new = await result if inspect.isawaitable(result) else result
            new = values.typed(resource, new)
            keep_system_fields(new, read.obj)
            data = values.encode(new)
            if data == read.plaintext and not read.stale:
                return read.obj
            if dry_run:
                return values.decoded(data, kv.mod_revision)
            value = self._transform_out(resource, transformer, key, data)
            outcome = await self.datastore.update(
                key, value, mod_revision=kv.mod_revision, lease=kv.lease
            )
            if outcome.ok:
                self.read_cache.forget(key)
                if data == read.plaintext:
                    log.info("rewrote stale value at %s", key)
                return values.decoded(data, outcome.revision)
            kv = outcome.current

    async def delete(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        preconditions: Preconditions | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Delete and return the last stored object; preconditions mismatch -> Conflict."""
        key = self.key(resource, name, namespace=namespace)
        transformer = self.transformers.for_resource(resource)
        kv = await self.datastore.get(key)
        while True:
            if kv is None:
                raise NotFound(resource, name)
            current = self._read(resource, transformer, kv).obj
            check_preconditions(resource, name, current, preconditions)
            if dry_run:
                return current
            outcome = await self.datastore.delete(key, mod_revision=kv.mod_revision)
            if outcome.ok:
                self.read_cache.forget(key)
                if resource == "namespaces":
                    self.namespaces.forget(name)
                return current
            kv = await self.datastore.get(key)

    # -- watch -------------------------------------------------------------

    async def watch(
        self,
        resource: str,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after ``resource_version``; without one (or "0"), first the
        current objects as ADDED. Objects leaving the selection come as
        DELETED, entering it as ADDED, as kube-apiserver does (see watching.py)."""
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector, resource=resource)
        key_prefix = self._list_prefix(resource, namespace)
        if resource_version in (None, "", "0"):
            listed = await self.list(
                resource,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
            )
            for obj in listed.items:
                yield WatchEvent("ADDED", obj)
            start = int(listed.resource_version) + 1
        else:
            # A revision no datastore will reach (beyond int64) waits for ever,
            # as kube-apiserver's watch on a future resourceVersion does.
            start = min(parse_rv(resource_version) + 1, MAX_REVISION)
        registry = self.transformers
        changes = watch_changes(
            self.datastore,
            key_prefix,
            # The live transformers for every event, never the set the watch
            # started with: a watch outlives key rotations (see watching.py).
            lambda kv: self._read(resource, registry.for_resource(resource), kv).obj,
            start_revision=start,
            labels=labels,
            fields=fields,
            resource_version=resource_version or str(start - 1),
        )
        async with aclosing(changes) as events:
            async for event in events:
                yield event
