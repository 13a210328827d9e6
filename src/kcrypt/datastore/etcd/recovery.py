"""Did a lost attempt apply? Telling our own retried write from a real conflict.

Retrying a write is only safe if a *previous attempt that was applied but
whose answer was lost* (leader killed after commit, connection reset) is
recognised. A compare that fails on a retry is therefore checked against the
key's history (:func:`applied`):

* create: the key's current incarnation was created after the last revision
  this client had seen before sending (``floor``) and its value and lease *at
  its create revision* are the ones we wrote -> it was our create; the engine
  returns its revision instead of raising ``KeyExists``.
* update / compared delete: the first change to the key after the compared
  ``mod_revision`` (read with a one-shot watch from ``mod_revision + 1``,
  :func:`first_event_after`) is a put of our value and lease (or a delete),
  after ``floor`` -> it was ours. Only a compare that held can produce that
  first change, so this is exact up to "another client made the identical
  write", which has the same outcome.
* txn_put: a physical Txn is all-or-nothing, so checking its first put
  decides for the whole batch.

Known limits (documented, rare): if our create was applied and the key was
deleted again before the retry, the retry creates it again; an unconditional
delete whose retry finds the key gone reports ``ok=True`` with
``previous=None``; if history was compacted past the compared revision, the
check falls back to comparing the current value.

Both functions run inside one attempt of ``Channels.call`` (stubs ``s`` and
attempt timeout ``t``) and take keys already carrying the engine's prefix.
"""

from __future__ import annotations

from typing import Any

import grpc

from kcrypt.datastore.contract import PutIf
from kcrypt.datastore.errors import DatastoreError
from kcrypt.datastore.etcd.channel import METADATA, Stubs
from kcrypt.datastore.etcd.errors import Kind, classify
from kcrypt.datastore.etcd.proto import kv_pb2, rpc_pb2

__all__ = ["applied", "first_event_after"]

_PUT = kv_pb2.Event.PUT


async def applied(s: Stubs, t: float, key: bytes, p: PutIf, *, floor: int, endpoint: str) -> int:
    """The revision at which a put equal to ``p`` (stored under ``key``) passed
    its compare after ``floor``, or 0 when none did (as far as history tells)."""

    def same(kv: Any) -> bool:
        return bool(kv.value == p.value and kv.lease == p.lease)

    cur = await _get(s, t, key)
    if p.mod_revision == 0:
        if cur is None or cur.create_revision <= floor:
            return 0
        try:
            first = await _get(s, t, key, cur.create_revision)
        except grpc.aio.AioRpcError as err:
            if classify(err) is not Kind.COMPACTED:
                raise
            first = cur if cur.version == 1 else None
        return int(cur.create_revision) if first is not None and same(first) else 0
    if cur is not None and cur.mod_revision <= max(p.mod_revision, floor):
        return 0
    ev = await first_event_after(s, t, key, p.mod_revision, endpoint=endpoint)
    if ev is None:
        ok = cur is not None and cur.mod_revision > floor and same(cur)
        return int(cur.mod_revision) if ok else 0
    if ev.type == _PUT and ev.kv.mod_revision > floor and same(ev.kv):
        return int(ev.kv.mod_revision)
    return 0


async def first_event_after(
    s: Stubs, t: float, key: bytes, revision: int, *, endpoint: str
) -> kv_pb2.Event | None:
    """The first change to ``key`` after ``revision`` (None if compacted)."""
    call = s.watch.Watch(metadata=METADATA, timeout=t)
    try:
        create = rpc_pb2.WatchCreateRequest(key=key, start_revision=revision + 1, prev_kv=True)
        await call.write(rpc_pb2.WatchRequest(create_request=create))
        while True:
            resp = await call.read()
            if resp is grpc.aio.EOF:
                raise DatastoreError(f"etcd {endpoint}: watch stream ended early")
            if resp.canceled:
                if resp.compact_revision:
                    return None
                raise DatastoreError(f"etcd {endpoint}: {resp.cancel_reason}")
            if resp.events:
                ev: kv_pb2.Event = resp.events[0]
                return ev
    finally:
        call.cancel()


async def _get(s: Stubs, t: float, key: bytes, revision: int = 0) -> Any:
    r = await s.kv.Range(
        rpc_pb2.RangeRequest(key=key, revision=revision), timeout=t, metadata=METADATA
    )
    return r.kvs[0] if r.kvs else None
