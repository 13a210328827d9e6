"""The etcd engine: the datastore contract on etcd's v3 gRPC API.

Every compared write is one etcd ``Txn`` whose failure branch reads the key(s),
so a lost race costs no extra round trip. Reads and compared writes are
retried on UNAVAILABLE/DEADLINE_EXCEEDED (``Channels.call``) on the next
member, with backoff, within ``timeout``.

Retrying a write is only safe if a previous attempt that was applied but
whose answer was lost is recognised: a compare that fails on a retry is
checked against the key's history (:mod:`kcrypt.datastore.etcd.recovery`
says how, and its known limits). Request building and the cut of bulk puts
into etcd-sized Txns live in :mod:`kcrypt.datastore.etcd.txn`.

Compaction: etcd's ``Compact(R)`` also drops the DELETE events *at* R (the
tombstone is not kept), so a watch from R would silently miss them. The
contract promises every event >= R, so ``compact(R)`` asks etcd for R - 1 and
we report compaction revisions as etcd's + 1. Reads at exactly R - 1 are then
refused by this client only if it compacted (or saw the compaction) itself;
another client may still read that one revision, which is harmless.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from kcrypt.datastore.contract import (
    DeleteResult,
    Event,
    EventType,
    Image,
    KeyValue,
    Page,
    PutIf,
    TxnResult,
    UpdateResult,
)
from kcrypt.datastore.errors import (
    Compacted,
    DatastoreError,
    KeyExists,
    LeaseNotFound,
)
from kcrypt.datastore.etcd.channel import METADATA, Channels, Stubs
from kcrypt.datastore.etcd.errors import Kind, classify, translate
from kcrypt.datastore.etcd.maintenance import replay, save_snapshot
from kcrypt.datastore.etcd.proto import kv_pb2, rpc_pb2
from kcrypt.datastore.etcd.recovery import applied, first_event_after
from kcrypt.datastore.etcd.txn import (
    MAX_TXN_BYTES,
    MAX_TXN_OPS,
    chunks,
    delete_txn,
    failed_compares,
    prefix_end,
    put_txn,
)
from kcrypt.datastore.etcd.watch import EtcdWatch

__all__ = ["MAX_TXN_BYTES", "MAX_TXN_OPS", "EtcdDatastore", "prefix_end"]

_PUT = kv_pb2.Event.PUT


class EtcdDatastore:
    def __init__(self, channels: Channels, *, prefix: str = "", txn_batch: int = 1) -> None:
        if not 1 <= txn_batch <= MAX_TXN_OPS:
            raise ValueError(f"txn_batch must be within 1..{MAX_TXN_OPS}, not {txn_batch}")
        self._ch = channels
        self._txn_batch = txn_batch
        self._ns = prefix.encode()
        self._seen = 0  # highest revision any response has shown us
        self._compacted = 0  # contract compaction revision known to this client

    @property
    def endpoint(self) -> str:
        return self._ch.endpoint

    def __repr__(self) -> str:
        return f"EtcdDatastore({self.endpoint!r})"

    # ---- conversions -------------------------------------------------------

    def _k(self, key: str) -> bytes:
        return self._ns + key.encode()

    def _begin(self, prefix: str) -> bytes:
        """The first key of a prefix scan; etcd refuses an empty key, and ``\0`` with
        range end ``\0`` means every key (the prefix "" without a namespace)."""
        return self._k(prefix) or b"\0"

    def _kv(self, kv: kv_pb2.KeyValue) -> KeyValue:
        return KeyValue(
            key=kv.key[len(self._ns) :].decode(),
            value=kv.value,
            create_revision=kv.create_revision,
            mod_revision=kv.mod_revision,
            version=kv.version,
            lease=kv.lease,
        )

    def _event(self, ev: kv_pb2.Event) -> Event:
        return Event(
            type=EventType.PUT if ev.type == _PUT else EventType.DELETE,
            kv=self._kv(ev.kv),
            prev=self._kv(ev.prev_kv) if ev.HasField("prev_kv") else None,
        )

    def _saw(self, header: rpc_pb2.ResponseHeader) -> int:
        self._seen = max(self._seen, header.revision)
        return int(header.revision)

    async def _error(
        self, err: grpc.aio.AioRpcError, *, revision: int = 0, lease: int = 0
    ) -> DatastoreError:
        kind = classify(err)
        current = compact = 0
        if kind is Kind.FUTURE:
            with contextlib.suppress(DatastoreError):
                current = await self.revision()
        elif kind is Kind.COMPACTED:
            compact = max(self._compacted, await self._compact_revision())
            self._compacted = compact
        return translate(
            err,
            endpoint=self.endpoint,
            revision=revision,
            current=current,
            compact_revision=compact,
            lease=lease,
        )

    # ---- reads -------------------------------------------------------------

    async def _range(self, req: rpc_pb2.RangeRequest, revision: int = 0) -> Any:
        if 0 < revision < self._compacted:
            raise Compacted(revision, self._compacted)

        async def attempt(s: Stubs, t: float, n: int) -> Any:
            return await s.kv.Range(req, timeout=t, metadata=METADATA)

        try:
            resp = await self._ch.call(attempt)
        except grpc.aio.AioRpcError as err:
            raise await self._error(err, revision=revision) from None
        self._saw(resp.header)
        return resp

    async def revision(self) -> int:
        resp = await self._range(rpc_pb2.RangeRequest(key=self._ns or b"\0", count_only=True))
        return int(resp.header.revision)

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        resp = await self._range(
            rpc_pb2.RangeRequest(key=self._k(key), revision=revision), revision
        )
        return self._kv(resp.kvs[0]) if resp.kvs else None

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int = 0,
        revision: int = 0,
        keys_only: bool = False,
    ) -> Page:
        begin = self._begin(prefix)
        end = prefix_end(self._k(prefix))
        if start_after is not None:
            begin = max(begin, self._k(start_after) + b"\0")
        req = rpc_pb2.RangeRequest(
            key=begin, range_end=end, limit=limit, revision=revision, keys_only=keys_only
        )
        resp = await self._range(req, revision)
        return Page(
            kvs=tuple(self._kv(kv) for kv in resp.kvs),
            revision=revision or int(resp.header.revision),
            more=bool(resp.more),
        )

    async def written_since(
        self,
        prefix: str,
        *,
        revision: int,
        excluding: Sequence[tuple[int, int]] = (),
    ) -> list[KeyValue]:
        # etcd filters on min_mod_revision; the exclusion is applied here, on
        # revisions only, and just the survivors' values are read.
        req = rpc_pb2.RangeRequest(
            key=self._begin(prefix),
            range_end=prefix_end(self._k(prefix)),
            keys_only=True,
            min_mod_revision=revision + 1,
        )
        resp = await self._range(req)
        ranges = sorted(excluding)
        starts = [a for a, _ in ranges]
        out: list[KeyValue] = []
        for kv in resp.kvs:
            i = bisect.bisect_right(starts, kv.mod_revision) - 1
            if i >= 0 and kv.mod_revision <= ranges[i][1]:
                continue
            current = await self.get(self._kv(kv).key)
            if current is not None and current.mod_revision > revision:
                out.append(current)
        return out

    async def count(self, prefix: str, *, start_after: str | None = None, revision: int = 0) -> int:
        begin = self._begin(prefix)
        end = prefix_end(self._k(prefix))
        if start_after is not None and start_after >= prefix:
            begin = self._k(start_after) + b"\0"
        req = rpc_pb2.RangeRequest(key=begin, range_end=end, revision=revision, count_only=True)
        return int((await self._range(req, revision)).count)

    # ---- compared writes ---------------------------------------------------

    async def _write(self, attempt: Any, *, lease: int = 0) -> Any:
        try:
            return await self._ch.call(attempt)
        except grpc.aio.AioRpcError as err:
            raise await self._error(err, lease=lease) from None

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        put = PutIf(key, value, 0, lease)
        req = put_txn([put], key=self._k, keys_only=True)
        floor = self._seen

        async def attempt(s: Stubs, t: float, n: int) -> int:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                return rev
            if done := await self._applied(s, t, n, put, floor):
                return done
            raise KeyExists(key)

        result: int = await self._write(attempt, lease=lease)
        return result

    async def update(
        self, key: str, value: bytes, *, mod_revision: int, lease: int = 0
    ) -> UpdateResult:
        put = PutIf(key, value, mod_revision, lease)
        req = put_txn([put], key=self._k, keys_only=False)
        floor = self._seen

        async def attempt(s: Stubs, t: float, n: int) -> UpdateResult:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                return UpdateResult(ok=True, revision=rev, current=None)
            if done := await self._applied(s, t, n, put, floor):
                return UpdateResult(ok=True, revision=done, current=None)
            kvs = r.responses[0].response_range.kvs
            return UpdateResult(ok=False, revision=rev, current=self._kv(kvs[0]) if kvs else None)

        result: UpdateResult = await self._write(attempt, lease=lease)
        return result

    async def delete(self, key: str, *, mod_revision: int = 0) -> DeleteResult:
        k = self._k(key)
        floor = self._seen
        req = delete_txn(k, mod_revision=mod_revision)

        async def attempt(s: Stubs, t: float, n: int) -> DeleteResult:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                d = r.responses[0].response_delete_range
                if d.deleted:
                    return DeleteResult(ok=True, revision=rev, previous=self._kv(d.prev_kvs[0]))
                # unconditional delete of a missing key; after a lost answer it
                # may have been ours: the key is gone as asked, previous unknown
                return DeleteResult(ok=n > 0, revision=rev, previous=None)
            if n > 0:
                ev = await first_event_after(s, t, k, mod_revision, endpoint=self.endpoint)
                if ev is not None and ev.type != _PUT and ev.kv.mod_revision > floor:
                    prev = self._kv(ev.prev_kv) if ev.HasField("prev_kv") else None
                    return DeleteResult(ok=True, revision=ev.kv.mod_revision, previous=prev)
            kvs = r.responses[0].response_range.kvs
            return DeleteResult(ok=False, revision=rev, previous=self._kv(kvs[0]) if kvs else None)

        result: DeleteResult = await self._write(attempt)
        return result

    async def txn_put(self, puts: Sequence[PutIf]) -> TxnResult:
        revisions = [0] * len(puts)
        revision = 0
        for chunk in chunks(puts, self._txn_batch):
            pending = chunk
            while pending:
                ok, rev, failed = await self._txn_chunk(puts, pending)
                revision = max(revision, rev)
                if ok:  # one etcd Txn: every put in it got the Txn's revision
                    for i in pending:
                        revisions[i] = rev
                    break
                pending = [i for i in pending if i not in failed]
        if not puts:
            revision = await self.revision()
        return TxnResult(
            revision=revision,
            succeeded=tuple(r > 0 for r in revisions),
            revisions=tuple(revisions),
        )

    async def _txn_chunk(
        self, puts: Sequence[PutIf], pending: list[int]
    ) -> tuple[bool, int, set[int]]:
        """One physical Txn of ``pending``: (applied, revision, indexes whose compare failed)."""
        batch = [puts[i] for i in pending]
        req = put_txn(batch, key=self._k, keys_only=True)
        floor = self._seen
        lease = next((p.lease for p in batch if p.lease), 0)

        async def attempt(s: Stubs, t: float, n: int) -> tuple[bool, int, set[int]]:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                return True, rev, set()
            if done := await self._applied(s, t, n, batch[0], floor):
                return True, done, set()
            failed = failed_compares(pending, batch, r.responses)
            if not failed:  # cannot happen: the failure branch ran atomically
                raise DatastoreError(f"etcd {self.endpoint}: txn failed without a failing compare")
            return False, rev, failed

        result: tuple[bool, int, set[int]] = await self._write(attempt, lease=lease)
        return result

    # ---- did a lost attempt apply? (kcrypt.datastore.etcd.recovery) ----------

    async def _applied(self, s: Stubs, t: float, n: int, p: PutIf, floor: int) -> int:
        """On a retry (``n > 0``): the revision at which our earlier attempt of
        ``p`` applied, or 0 (also on the first attempt: nothing to recognise)."""
        if n == 0:
            return 0
        return await applied(s, t, self._k(p.key), p, floor=floor, endpoint=self.endpoint)

    async def _compact_revision(self) -> int:
        """The contract's compaction revision, etcd's + 1 (see the module
        docstring); etcd's error message does not say it."""
        call = self._ch.current().watch.Watch(metadata=METADATA, timeout=self._ch.attempt_timeout)
        try:
            create = rpc_pb2.WatchCreateRequest(key=self._ns or b"\0", start_revision=1)
            await call.write(rpc_pb2.WatchRequest(create_request=create))
            for _ in range(2):
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    break
                if resp.compact_revision:
                    return int(resp.compact_revision) + 1
        except grpc.aio.AioRpcError:
            pass
        finally:
            call.cancel()
        return 0

    # ---- watch, leases, compaction -----------------------------------------

    def watch(self, prefix: str, *, start_revision: int) -> EtcdWatch:
        return EtcdWatch(
            self._ch,
            compacted=self._compacted,
            key=self._begin(prefix),
            range_end=prefix_end(self._k(prefix)),
            start_revision=start_revision,
            convert=self._event,
        )

    async def grant_lease(self, ttl: int) -> int:
        async def attempt(s: Stubs, t: float, n: int) -> Any:
            return await s.lease.LeaseGrant(
                rpc_pb2.LeaseGrantRequest(TTL=ttl), timeout=t, metadata=METADATA
            )

        r = await self._write(attempt)
        if r.error:
            raise DatastoreError(f"etcd {self.endpoint}: lease grant failed: {r.error}")
        return int(r.ID)

    async def keepalive(self, lease: int) -> int:
        async def attempt(s: Stubs, t: float, n: int) -> int:
            call = s.lease.LeaseKeepAlive(metadata=METADATA, timeout=t)
            try:
                await call.write(rpc_pb2.LeaseKeepAliveRequest(ID=lease))
                resp = await call.read()
            finally:
                call.cancel()
            if resp is grpc.aio.EOF or resp.TTL <= 0:
                raise LeaseNotFound(lease)
            self._saw(resp.header)
            return int(resp.TTL)

        result: int = await self._write(attempt, lease=lease)
        return result

    async def revoke_lease(self, lease: int) -> None:
        async def attempt(s: Stubs, t: float, n: int) -> None:
            try:
                await s.lease.LeaseRevoke(
                    rpc_pb2.LeaseRevokeRequest(ID=lease), timeout=t, metadata=METADATA
                )
            except grpc.aio.AioRpcError as err:
                # a retry that finds the lease gone: our lost attempt revoked it
                if not (n > 0 and classify(err) is Kind.LEASE_NOT_FOUND):
                    raise

        await self._write(attempt, lease=lease)

    async def compact(self, revision: int) -> None:
        if revision <= 1:
            return  # nothing before revision 1

        async def attempt(s: Stubs, t: float, n: int) -> None:
            try:
                await s.kv.Compact(
                    rpc_pb2.CompactionRequest(revision=revision - 1), timeout=t, metadata=METADATA
                )
            except grpc.aio.AioRpcError as err:
                if classify(err) is not Kind.COMPACTED:  # already compacted that far: done
                    raise

        try:
            await self._ch.call(attempt)
        except grpc.aio.AioRpcError as err:
            raise await self._error(err, revision=revision) from None
        self._compacted = max(self._compacted, revision)

    def history(
        self, prefix: str, *, start_revision: int, end_revision: int, superseded: bool = False
    ) -> AsyncIterator[Event]:
        return replay(
            self._ch,
            namespace=self._ns,
            key=self._k(prefix),
            range_end=prefix_end(self._k(prefix)) if prefix or self._ns else b"",
            start=start_revision,
            end=end_revision,
            convert=self._event,
            superseded=superseded,
        )

    async def snapshot(self, path: Path) -> Image:
        """The whole cluster's backend (every namespace), as ``etcdctl snapshot save``."""
        return await save_snapshot(self._ch, path)

    async def close(self) -> None:
        await self._ch.close()
