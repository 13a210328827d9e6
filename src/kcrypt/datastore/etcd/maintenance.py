"""etcd's whole-store reads: the Maintenance ``Snapshot`` stream and a history replay.

``Snapshot`` streams the bbolt backend in 32 KiB blobs; the last message's
blob is the sha256 of all the others (etcd-io/etcd ``v3rpc/maintenance.go``).
Writing every blob in order gives exactly the file ``etcdctl snapshot save``
writes, so :func:`save_snapshot` does that and checks the trailer as it goes:
a stream cut short or damaged is refused, and the partial file removed. etcd
before 3.6 sets no header on the stream, so the image's revision is only
known once it is opened (``Image.revision`` 0).

:func:`replay` yields the history the store still keeps by watching the whole
namespace from a start revision (etcd replays every retained revision, in
order, one response per revision) and stops after the response that reaches
the end revision. It watches the whole namespace, not only the prefix asked
for, because the store's latest revision is always *some* key's event, so the
replay always reaches the end; events outside the prefix are dropped here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc

from kcrypt.datastore.contract import Event, EventType, Image
from kcrypt.datastore.errors import DatastoreError
from kcrypt.datastore.etcd.channel import METADATA, Channels
from kcrypt.datastore.etcd.errors import translate
from kcrypt.datastore.etcd.proto import kv_pb2, rpc_pb2
from kcrypt.datastore.etcd.txn import prefix_end

__all__ = ["IMAGE_KIND", "replay", "save_snapshot"]

IMAGE_KIND = "etcd"
_SHA = 32


async def save_snapshot(channels: Channels, path: Path) -> Image:
    """Stream the current member's backend into the new file ``path`` (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    digest = hashlib.sha256()
    tail = b""
    revision = 0
    stubs = channels.current()
    try:
        with os.fdopen(fd, "wb") as out:
            call = stubs.maintenance.Snapshot(rpc_pb2.SnapshotRequest(), metadata=METADATA)
            async for resp in call:
                if not revision and resp.HasField("header"):
                    revision = int(resp.header.revision)
                out.write(resp.blob)
                data = tail + resp.blob  # hash all but the last 32 bytes: the trailer
                digest.update(data[:-_SHA])
                tail = data[-_SHA:]
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        if len(tail) != _SHA or digest.digest() != tail:
            raise DatastoreError(
                f"etcd {channels.endpoint}: the snapshot stream from {stubs.member} "
                "ended without a matching sha256 trailer (cut short or damaged)"
            )
    except grpc.aio.AioRpcError as err:
        path.unlink(missing_ok=True)
        raise translate(err, endpoint=channels.endpoint) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Image(kind=IMAGE_KIND, revision=revision, size=size)


async def replay(
    channels: Channels,
    *,
    namespace: bytes,
    key: bytes,
    range_end: bytes,
    start: int,
    end: int,
    convert: Callable[[kv_pb2.Event], Event],
    superseded: bool = False,
) -> AsyncIterator[Event]:
    """Events under ``[key, range_end)`` with ``start <= revision <= end`` (see above);
    ``superseded``: only PUTs a later event replaced or deleted (each key's last
    event is held back until the next one for that key shows up: memory per key)."""
    events = _replay(
        channels,
        namespace=namespace,
        key=key,
        range_end=range_end,
        start=start,
        end=end,
        convert=convert,
    )
    last: dict[str, Event] = {}
    async for ev in events:
        if not superseded:
            yield ev
            continue
        held = last.get(ev.kv.key)
        if held is not None and held.type is EventType.PUT:
            yield held
        last[ev.kv.key] = ev


async def _replay(
    channels: Channels,
    *,
    namespace: bytes,
    key: bytes,
    range_end: bytes,
    start: int,
    end: int,
    convert: Callable[[kv_pb2.Event], Event],
) -> AsyncIterator[Event]:
    if end < max(start, 1):
        return
    stubs = channels.current()
    ns_end = prefix_end(namespace) if namespace else b"\0"
    next_rev = max(start, 1)
    while True:  # at most twice: once more from the compaction point
        call: Any = stubs.watch.Watch(metadata=METADATA)
        try:
            create = rpc_pb2.WatchCreateRequest(
                key=namespace or b"\0", range_end=ns_end, start_revision=next_rev, prev_kv=True
            )
            await call.write(rpc_pb2.WatchRequest(create_request=create))
            restart = 0
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    raise DatastoreError(f"etcd {channels.endpoint}: history replay ended early")
                if resp.canceled:
                    if resp.compact_revision > next_rev:
                        restart = int(resp.compact_revision)
                        break
                    raise DatastoreError(
                        f"etcd {channels.endpoint}: history replay cancelled: {resp.cancel_reason}"
                    )
                for ev in resp.events:
                    if ev.kv.mod_revision > end:
                        return
                    if key <= ev.kv.key and (not range_end or ev.kv.key < range_end):
                        yield convert(ev)
                if resp.events and resp.events[-1].kv.mod_revision >= end:
                    return
        except grpc.aio.AioRpcError as err:
            raise translate(err, endpoint=channels.endpoint) from None
        finally:
            call.cancel()
        next_rev = restart
