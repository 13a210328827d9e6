"""``kcrypt decrypt``: objects as kube-apiserver would serve them, straight from a datastore.

For recovery: a cluster that cannot start still has its data, and an
operator with the keys can read it. One storage key, or every key under a
prefix, is read (never written: the datastore is opened read-only, see
:mod:`kcrypt.audit.sources`), decrypted with the config's transformer for its
resource and decoded from kube-apiserver's storage protobuf (or JSON) to the
object's JSON form. A value that does not decrypt or decode is reported with
the reason, not skipped silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from kcrypt.audit.classify import resource_of
from kcrypt.codec import CodecError, decode_storage
from kcrypt.config import Transformers
from kcrypt.datastore import Datastore, KeyValue
from kcrypt.envelope import EnvelopeError

__all__ = ["Decrypted", "decrypt_objects"]


@dataclass(frozen=True, slots=True)
class Decrypted:
    key: str
    object: dict[str, Any] | None
    error: str = ""


async def _values(ds: Datastore, target: str) -> AsyncIterator[KeyValue]:
    if not target.endswith("/"):
        kv = await ds.get(target)
        if kv is not None:
            yield kv
            return
    revision = await ds.revision()
    after: str | None = None
    while True:
        page = await ds.range(target, start_after=after, limit=500, revision=revision)
        for kv in page.kvs:
            yield kv
        if not page.more or not page.kvs:
            return
        after = page.kvs[-1].key


async def decrypt_objects(
    ds: Datastore, transformers: Transformers, target: str
) -> AsyncIterator[Decrypted]:
    """Each object at ``target`` (a storage key, or a prefix ending in ``/``)."""
    async for kv in _values(ds, target):
        # off the loop: a KMS provider's read waits on its plugin, which it can
        # only do while the loop is free to run the gRPC call
        yield await asyncio.to_thread(_decrypted, transformers, kv)


def _decrypted(transformers: Transformers, kv: KeyValue) -> Decrypted:
    group, resource = resource_of(kv.key)
    transformer = transformers.for_resource(resource, group)
    try:
        plain = transformer.from_storage(kv.value, context=kv.key.encode()).plaintext
        return Decrypted(kv.key, decode_storage(plain))
    except (EnvelopeError, CodecError) as exc:
        return Decrypted(kv.key, None, str(exc))
