"""ObjectStore: Kubernetes objects over the datastore, with kube-apiserver's semantics.

An object is kept at its storage key (``/registry/secrets/<ns>/<name>``) as
the codec's protobuf bytes passed through the resource's transformer, with
the full key as the transformer's additional data (:mod:`kcrypt.storage.values`).
``resourceVersion`` is the datastore's ``mod_revision`` and is never stored
inside the value.

Writes (create, guaranteed update, delete with finalizers) live in
:mod:`kcrypt.storage.writes`, list paging (continue tokens, one consistent
snapshot per paged list) in :mod:`kcrypt.storage.paging`, and turning
datastore events into watch events in :mod:`kcrypt.storage.watching`;
``ObjectStore`` owns keys and the transformer and hands them a ``read``
function.

:meth:`ObjectStore.get_rendered` serves a GET's response bytes through a
bounded :class:`~kcrypt.storage.readcache.ReadCache` (decrypted data in
memory, checked against the row read on every request; see that module).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import aclosing

from kcrypt import codec
from kcrypt.datastore.contract import Datastore
from kcrypt.storage.errors import NotFound
from kcrypt.storage.events import DEFAULT_EVENT_TTL, EventLeases
from kcrypt.storage.metrics import StorageMetrics
from kcrypt.storage.namespaces import NamespaceGuard
from kcrypt.storage.objects import Obj, ObjectList, Preconditions, WatchEvent, parse_rv
from kcrypt.storage.paging import list_page
from kcrypt.storage.readcache import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, ReadCache
from kcrypt.storage.selectors import parse_field_selector, parse_label_selector
from kcrypt.storage.transformers import TransformerRegistry
from kcrypt.storage.watching import watch_changes
from kcrypt.storage.writes import ObjectWrites, UpdateFn

__all__ = ["ObjectList", "ObjectStore", "Preconditions", "UpdateFn", "WatchEvent"]

MAX_REVISION = 2**63 - 1
"""etcd's revisions are int64; no store ever gets here."""


class ObjectStore(ObjectWrites):
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

    # -- reads -------------------------------------------------------------

    async def _read_namespace(self, name: str) -> Obj:
        return await self.get("namespaces", name)

    async def get(self, resource: str, name: str, *, namespace: str | None = None) -> Obj:
        key = self.key(resource, name, namespace=namespace)
        kv = await self.datastore.get(key)
        if kv is None:
            raise NotFound(resource, name)
        return (await self._read(resource, self.transformers.for_resource(resource), kv)).obj

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
            obj = (await self._read(resource, self.transformers.for_resource(resource), kv)).obj
            return render(obj)
        source, generation = self.transformers.snapshot()
        rendered = cache.lookup(
            key, variant, revision=kv.mod_revision, generation=generation, value=kv.value
        )
        if rendered is None:
            rendered = render((await self._read(resource, source.for_resource(resource), kv)).obj)
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
            self._object_reader(lambda: transformer, resource),
            labels=labels,
            fields=fields,
            limit=limit,
            continue_token=continue_token,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
        )

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
            self._object_reader(lambda: registry.for_resource(resource), resource),
            start_revision=start,
            labels=labels,
            fields=fields,
            resource_version=resource_version or str(start - 1),
        )
        async with aclosing(changes) as events:
            async for event in events:
                yield event
