"""Stored rows <-> objects: encode, transform (with metrics), decode.

Kept apart from :mod:`kcrypt.storage.store` because the value format is its
own concern: an object is stored as the codec's protobuf bytes passed
through the resource's transformer with the full storage key as additional
data, and ``resourceVersion`` is never stored but set from the row's
``mod_revision`` on the way out. Every transformer call is timed into
:class:`~kcrypt.storage.metrics.StorageMetrics` when one is given.

The request path is async and transformers are synchronous. Local-key
providers and KMS values whose DEK is cached run right on the event loop;
a transformer that must wait for a KMS plugin (a DEK cache miss, a KMS v1
write) raises :class:`~kcrypt.envelope.WouldBlock` there instead, and
:func:`read_row_async` / :func:`to_storage_async` run that one call again
on a small pool of worker threads, so a slow or missing plugin never stalls
other requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from kcrypt import codec
from kcrypt.datastore.contract import KeyValue
from kcrypt.envelope import EnvelopeError, Transformer, WouldBlock
from kcrypt.storage.errors import BadRequest, InternalError
from kcrypt.storage.metrics import StorageMetrics
from kcrypt.storage.objects import Obj, meta_of, written_prefix

__all__ = [
    "Read",
    "decoded",
    "encode",
    "read_row",
    "read_row_async",
    "to_storage",
    "to_storage_async",
    "typed",
]

log = logging.getLogger("kcrypt.storage")

T = TypeVar("T")

_OFFLOAD_THREADS = 8
"""Transformations waiting on a KMS plugin at once; more wait in the pool's queue."""
_offload_pool: ThreadPoolExecutor | None = None


async def _offload(call: Callable[[], T]) -> T:
    global _offload_pool
    if _offload_pool is None:
        _offload_pool = ThreadPoolExecutor(_OFFLOAD_THREADS, thread_name_prefix="kcrypt-kms")
    return await asyncio.get_running_loop().run_in_executor(_offload_pool, call)


@dataclass(frozen=True, slots=True)
class Read:
    """A row read back: the object, its plaintext, and whether it needs rewriting."""

    obj: Obj
    plaintext: bytes
    stale: bool


def to_storage(
    resource: str,
    transformer: Transformer,
    key: str,
    data: bytes,
    *,
    metrics: StorageMetrics | None,
) -> bytes:
    """``data`` transformed for storage at ``key``; a transformer failure is an InternalError."""
    start = time.perf_counter()
    try:
        value = transformer.to_storage(data, context=key.encode())
    except EnvelopeError as exc:
        _record(metrics, resource, "to_storage", "", start, ok=False)
        raise InternalError(f"unable to transform key {key!r}: {exc}") from None
    prefix = written_prefix(value) if value.startswith(b"k8s:enc:") else ""
    _record(metrics, resource, "to_storage", prefix, start, ok=True)
    return value


async def to_storage_async(
    resource: str,
    transformer: Transformer,
    key: str,
    data: bytes,
    *,
    metrics: StorageMetrics | None,
) -> bytes:
    """:func:`to_storage`, repeated off the loop when the transformer must wait."""
    try:
        return to_storage(resource, transformer, key, data, metrics=metrics)
    except WouldBlock:
        return await _offload(lambda: to_storage(resource, transformer, key, data, metrics=metrics))


def _record(
    metrics: StorageMetrics | None,
    resource: str,
    kind: str,
    prefix: str,
    start: float,
    *,
    ok: bool,
) -> None:
    if metrics is not None:
        metrics.record(
            resource,
            transformation_type=kind,
            prefix=prefix,
            seconds=time.perf_counter() - start,
            ok=ok,
        )


def read_row(
    resource: str,
    transformer: Transformer,
    kv: KeyValue,
    *,
    metrics: StorageMetrics | None,
) -> Read:
    """The object stored in ``kv``, with its resourceVersion set from the row."""
    start = time.perf_counter()
    try:
        result = transformer.from_storage(kv.value, context=kv.key.encode())
    except EnvelopeError as exc:
        _record(metrics, resource, "from_storage", "", start, ok=False)
        log.warning("unable to transform key %s: %s", kv.key, type(exc).__name__)
        raise InternalError(f"unable to transform key {kv.key!r}: {exc}") from None
    _record(metrics, resource, "from_storage", result.prefix, start, ok=True)
    try:
        obj = codec.decode_storage(result.plaintext)
    except codec.CodecError as exc:
        raise InternalError(f"unable to decode key {kv.key!r}: {exc}") from None
    meta_of(obj)["resourceVersion"] = str(kv.mod_revision)
    return Read(obj, result.plaintext, result.stale)


async def read_row_async(
    resource: str,
    transformer: Transformer,
    kv: KeyValue,
    *,
    metrics: StorageMetrics | None,
) -> Read:
    """:func:`read_row`, repeated off the loop when the transformer must wait."""
    try:
        return read_row(resource, transformer, kv, metrics=metrics)
    except WouldBlock:
        return await _offload(lambda: read_row(resource, transformer, kv, metrics=metrics))


def encode(obj: Obj) -> bytes:
    """The storage encoding of ``obj``; an object the codec refuses is a BadRequest."""
    try:
        return codec.encode_storage(obj)
    except codec.CodecError as exc:
        raise BadRequest(str(exc)) from None


def decoded(data: bytes, revision: int) -> Obj:
    """``data`` decoded, carrying ``revision`` as its resourceVersion."""
    out = codec.decode_storage(data)
    meta_of(out)["resourceVersion"] = str(revision)
    return out


def typed(resource: str, obj: Obj) -> Obj:
    """``obj`` with the resource's apiVersion/kind and no server-only metadata."""
    kind = codec.kind_for_resource(resource)
    obj["apiVersion"] = kind.api_version
    obj["kind"] = kind.kind
    meta = meta_of(obj)
    meta.pop("resourceVersion", None)
    meta.pop("selfLink", None)
    if not kind.namespaced:
        meta.pop("namespace", None)
    return obj
