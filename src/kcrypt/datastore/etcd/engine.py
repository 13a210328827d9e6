"""The etcd engine: the datastore contract on etcd's v3 gRPC API.

Every compared write is one etcd ``Txn`` whose failure branch reads the key(s),
so a lost race costs no extra round trip. Reads and compared writes are
retried on UNAVAILABLE/DEADLINE_EXCEEDED (``Channels.call``) on the next
member, with backoff, within ``timeout``.

Retrying a write is only safe if a *previous attempt that was applied but
whose answer was lost* (leader killed after commit, connection reset) is
recognised. A compare that fails on a retry is therefore checked against the
key's history (:meth:`EtcdDatastore._applied`):

* create: the key's current incarnation was created after the last revision
  this client had seen before sending (``floor``) and its value and lease *at
  its create revision* are the ones we wrote -> it was our create; return
  its revision instead of raising ``KeyExists``.
* update / compared delete: the first change to the key after the compared
  ``mod_revision`` (read with a one-shot watch from ``mod_revision + 1``) is a
  put of our value and lease (or a delete), after ``floor`` -> it was ours.
  Only a compare that held can produce that first change, so this is exact up
  to "another client made the identical write", which has the same outcome.
* txn_put: a physical Txn is all-or-nothing, so checking its first put
  decides for the whole batch.

Known limits (documented, rare): if our create was applied and the key was
deleted again before the retry, the retry creates it again; an unconditional
delete whose retry finds the key gone reports ``ok=True`` with
``previous=None``; if history was compacted past the compared revision, the
check falls back to comparing the current value.

Compaction: etcd's ``Compact(R)`` also drops the DELETE events *at* R (the
tombstone is not kept), so a watch from R would silently miss them. The
contract promises every event >= R, so ``compact(R)`` asks etcd for R - 1 and
we report compaction revisions as etcd's + 1. Reads at exactly R - 1 are then
refused by this client only if it compacted (or saw the compaction) itself;
another client may still read that one revision, which is harmless.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from kcrypt.datastore.contract import (
    DeleteResult,
    Event,
    EventType,
    KeyValue,
    Page,
    PutIf,
    TxnResult,
    UpdateResult,
)
from kcrypt.datastore.errors import (
    Compacted,
    DatastoreError,
    InvalidEndpoint,
    KeyExists,
    LeaseNotFound,
)
from kcrypt.datastore.etcd.channel import METADATA, Channels, Stubs, parse_url
from kcrypt.datastore.etcd.errors import Kind, classify, translate
from kcrypt.datastore.etcd.proto import kv_pb2, rpc_pb2
from kcrypt.datastore.etcd.watch import EtcdWatch

__all__ = ["MAX_TXN_BYTES", "MAX_TXN_OPS", "EtcdDatastore", "open_etcd", "prefix_end"]

#: etcd's defaults: --max-txn-ops 128 and --max-request-bytes 1.5 MiB; we stay
#: well under the byte limit because the request also carries compares and ranges.
MAX_TXN_OPS = 128
MAX_TXN_BYTES = 1024 * 1024

_PUT = kv_pb2.Event.PUT
_Cmp = rpc_pb2.Compare


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix``
    (etcd's "prefix + 1"); ``b"\\0"`` (= to the end) when there is none."""
    b = bytearray(prefix)
    while b:
        if b[-1] < 0xFF:
            b[-1] += 1
            return bytes(b)
        b.pop()
    return b"\0"


async def open_etcd(
    url: str,
    *,
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    timeout: float = 5.0,
    attempt_timeout: float = 2.0,
    prefix: str = "",
    txn_batch: int | None = None,
) -> EtcdDatastore:
    """Connect to the etcd cluster at ``url`` (``etcd://h1:p1,h2:p2``, or
    ``etcds://`` with ``ca_file`` and optionally ``cert_file``/``key_file``).

    ``timeout`` bounds every operation including its retries; one attempt gets
    at most ``attempt_timeout`` so a hung member is left quickly. ``prefix`` is
    prepended to every key (and removed from results): several stores can
    share one cluster. Raises ``Unavailable`` naming the endpoint when no
    member answers a linearizable read within ``timeout``.

    ``txn_batch`` is how many puts of a ``txn_put`` go into one etcd Txn
    (default 128, etcd's default ``--max-txn-ops``). Puts of one Txn share its
    revision, which the contract allows; it is ~20x faster than a Txn per put
    and is what makes bulk re-encryption on etcd fast. ``txn_batch=1`` (also
    ``?txn_batch=1`` in the URL) gives every put its own revision, for a
    cluster whose ``--max-txn-ops`` was lowered.
    """
    parsed = parse_url(url)
    for name, value in parsed.options:
        if name != "txn_batch" or not value.isdigit():
            raise InvalidEndpoint(
                f"unknown etcd endpoint option {name}={value!r} in {parsed.printable} "
                "(known: txn_batch=<1..128>)"
            )
        if txn_batch is None:
            txn_batch = int(value)
    channels = Channels(
        parsed,
        timeout=timeout,
        attempt_timeout=attempt_timeout,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
    )
    try:
        batch = MAX_TXN_OPS if txn_batch is None else txn_batch
        ds = EtcdDatastore(channels, prefix=prefix, txn_batch=batch)
    except ValueError as exc:
        await channels.close()
        raise InvalidEndpoint(str(exc)) from None
    try:
        await ds.revision()
    except BaseException:
        await channels.close()
        raise
    return ds


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
    ) -> Page:
        begin = self._k(prefix)
        end = prefix_end(begin)
        if start_after is not None:
            begin = max(begin, self._k(start_after) + b"\0")
        req = rpc_pb2.RangeRequest(key=begin, range_end=end, limit=limit, revision=revision)
        resp = await self._range(req, revision)
        return Page(
            kvs=tuple(self._kv(kv) for kv in resp.kvs),
            revision=revision or int(resp.header.revision),
            more=bool(resp.more),
        )

    async def count(self, prefix: str, *, revision: int = 0) -> int:
        begin = self._k(prefix)
        req = rpc_pb2.RangeRequest(
            key=begin, range_end=prefix_end(begin), revision=revision, count_only=True
        )
        return int((await self._range(req, revision)).count)

    # ---- compared writes ---------------------------------------------------

    def _put_txn(self, puts: Sequence[PutIf], *, keys_only: bool) -> rpc_pb2.TxnRequest:
        req = rpc_pb2.TxnRequest()
        for p in puts:
            k = self._k(p.key)
            if p.mod_revision == 0:
                req.compare.append(_Cmp(key=k, target=_Cmp.CREATE, create_revision=0))
            else:
                req.compare.append(_Cmp(key=k, target=_Cmp.MOD, mod_revision=p.mod_revision))
            req.success.append(
                rpc_pb2.RequestOp(
                    request_put=rpc_pb2.PutRequest(key=k, value=p.value, lease=p.lease)
                )
            )
            req.failure.append(
                rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=k, keys_only=keys_only))
            )
        return req

    async def _write(self, attempt: Any, *, lease: int = 0) -> Any:
        try:
            return await self._ch.call(attempt)
        except grpc.aio.AioRpcError as err:
            raise await self._error(err, lease=lease) from None

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        put = PutIf(key, value, 0, lease)
        req = self._put_txn([put], keys_only=True)
        floor = self._seen

        async def attempt(s: Stubs, t: float, n: int) -> int:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                return rev
            if n > 0 and (applied := await self._applied(s, t, put, floor)):
                return applied
            raise KeyExists(key)

        result: int = await self._write(attempt, lease=lease)
        return result

    async def update(
        self, key: str, value: bytes, *, mod_revision: int, lease: int = 0
    ) -> UpdateResult:
        put = PutIf(key, value, mod_revision, lease)
        req = self._put_txn([put], keys_only=False)
        floor = self._seen

        async def attempt(s: Stubs, t: float, n: int) -> UpdateResult:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                return UpdateResult(ok=True, revision=rev, current=None)
            if n > 0 and (applied := await self._applied(s, t, put, floor)):
                return UpdateResult(ok=True, revision=applied, current=None)
            kvs = r.responses[0].response_range.kvs
            return UpdateResult(ok=False, revision=rev, current=self._kv(kvs[0]) if kvs else None)

        result: UpdateResult = await self._write(attempt, lease=lease)
        return result

    async def delete(self, key: str, *, mod_revision: int = 0) -> DeleteResult:
        k = self._k(key)
        floor = self._seen
        req = rpc_pb2.TxnRequest(
            compare=[_Cmp(key=k, target=_Cmp.MOD, mod_revision=mod_revision)]
            if mod_revision
            else [],
            success=[
                rpc_pb2.RequestOp(
                    request_delete_range=rpc_pb2.DeleteRangeRequest(key=k, prev_kv=True)
                )
            ],
            failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=k))],
        )

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
                ev = await self._first_event_after(s, t, k, mod_revision)
                if ev is not None and ev.type != _PUT and ev.kv.mod_revision > floor:
                    prev = self._kv(ev.prev_kv) if ev.HasField("prev_kv") else None
                    return DeleteResult(ok=True, revision=ev.kv.mod_revision, previous=prev)
            kvs = r.responses[0].response_range.kvs
            return DeleteResult(ok=False, revision=rev, previous=self._kv(kvs[0]) if kvs else None)

        result: DeleteResult = await self._write(attempt)
        return result

    async def txn_put(self, puts: Sequence[PutIf]) -> TxnResult:
        succeeded = [False] * len(puts)
        revision = 0
        for chunk in _chunks(puts, self._txn_batch):
            pending = chunk
            while pending:
                ok, rev, failed = await self._txn_chunk(puts, pending)
                revision = max(revision, rev)
                if ok:
                    for i in pending:
                        succeeded[i] = True
                    break
                pending = [i for i in pending if i not in failed]
        if not puts:
            revision = await self.revision()
        return TxnResult(revision=revision, succeeded=tuple(succeeded))

    async def _txn_chunk(
        self, puts: Sequence[PutIf], pending: list[int]
    ) -> tuple[bool, int, set[int]]:
        """One physical Txn of ``pending``: (applied, revision, indexes whose compare failed)."""
        batch = [puts[i] for i in pending]
        req = self._put_txn(batch, keys_only=True)
        floor = self._seen
        lease = next((p.lease for p in batch if p.lease), 0)

        async def attempt(s: Stubs, t: float, n: int) -> tuple[bool, int, set[int]]:
            r = await s.kv.Txn(req, timeout=t, metadata=METADATA)
            rev = self._saw(r.header)
            if r.succeeded:
                return True, rev, set()
            if n > 0 and (applied := await self._applied(s, t, batch[0], floor)):
                return True, applied, set()
            failed: set[int] = set()
            for i, p, op in zip(pending, batch, r.responses, strict=True):
                kvs = op.response_range.kvs
                if (p.mod_revision == 0 and kvs) or (
                    p.mod_revision != 0 and (not kvs or kvs[0].mod_revision != p.mod_revision)
                ):
                    failed.add(i)
            if not failed:  # cannot happen: the failure branch ran atomically
                raise DatastoreError(f"etcd {self.endpoint}: txn failed without a failing compare")
            return False, rev, failed

        result: tuple[bool, int, set[int]] = await self._write(attempt, lease=lease)
        return result

    # ---- did a lost attempt apply? (see the module docstring) ---------------

    async def _get_pb(self, s: Stubs, t: float, key: bytes, revision: int = 0) -> Any:
        r = await s.kv.Range(
            rpc_pb2.RangeRequest(key=key, revision=revision), timeout=t, metadata=METADATA
        )
        return r.kvs[0] if r.kvs else None

    async def _applied(self, s: Stubs, t: float, p: PutIf, floor: int) -> int:
        """The revision at which a put equal to ``p`` passed its compare after
        ``floor``, or 0 when none did (as far as history tells)."""
        k = self._k(p.key)

        def same(kv: Any) -> bool:
            return bool(kv.value == p.value and kv.lease == p.lease)

        cur = await self._get_pb(s, t, k)
        if p.mod_revision == 0:
            if cur is None or cur.create_revision <= floor:
                return 0
            try:
                first = await self._get_pb(s, t, k, cur.create_revision)
            except grpc.aio.AioRpcError as err:
                if classify(err) is not Kind.COMPACTED:
                    raise
                first = cur if cur.version == 1 else None
            return int(cur.create_revision) if first is not None and same(first) else 0
        if cur is not None and cur.mod_revision <= max(p.mod_revision, floor):
            return 0
        ev = await self._first_event_after(s, t, k, p.mod_revision)
        if ev is None:
            ok = cur is not None and cur.mod_revision > floor and same(cur)
            return int(cur.mod_revision) if ok else 0
        if ev.type == _PUT and ev.kv.mod_revision > floor and same(ev.kv):
            return int(ev.kv.mod_revision)
        return 0

    async def _first_event_after(
        self, s: Stubs, t: float, key: bytes, revision: int
    ) -> kv_pb2.Event | None:
        """The first change to ``key`` after ``revision`` (None if compacted)."""
        call = s.watch.Watch(metadata=METADATA, timeout=t)
        try:
            create = rpc_pb2.WatchCreateRequest(key=key, start_revision=revision + 1, prev_kv=True)
            await call.write(rpc_pb2.WatchRequest(create_request=create))
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    raise DatastoreError(f"etcd {self.endpoint}: watch stream ended early")
                if resp.canceled:
                    if resp.compact_revision:
                        return None
                    raise DatastoreError(f"etcd {self.endpoint}: {resp.cancel_reason}")
                if resp.events:
                    ev: kv_pb2.Event = resp.events[0]
                    return ev
        finally:
            call.cancel()

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
        begin = self._k(prefix)
        return EtcdWatch(
            self._ch,
            compacted=self._compacted,
            key=begin,
            range_end=prefix_end(begin),
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

    async def close(self) -> None:
        await self._ch.close()


def _chunks(puts: Sequence[PutIf], max_ops: int) -> list[list[int]]:
    """Split into physical Txns: <= max_ops puts, <= MAX_TXN_BYTES, and no
    key twice in one Txn (etcd rejects duplicate keys)."""
    out: list[list[int]] = []
    cur: list[int] = []
    keys: set[str] = set()
    size = 0
    for i, p in enumerate(puts):
        n = 3 * len(p.key) + len(p.value) + 64
        if cur and (len(cur) >= max_ops or size + n > MAX_TXN_BYTES or p.key in keys):
            out.append(cur)
            cur, keys, size = [], set(), 0
        cur.append(i)
        keys.add(p.key)
        size += n
    if cur:
        out.append(cur)
    return out
