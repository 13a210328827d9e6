"""etcd Txn requests for compared writes, cut to etcd's limits.

A compared put is one compare (``create_revision == 0`` for a create,
``mod_revision == R`` for an update), one put on success and one range of the
same key on failure, so a lost race returns the current value in the same
round trip. Several puts share one physical Txn up to etcd's default
``--max-txn-ops`` and request size, never with a key twice (etcd rejects
duplicate keys in one Txn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kcrypt.datastore.contract import PutIf
from kcrypt.datastore.etcd.proto import rpc_pb2

__all__ = [
    "MAX_TXN_BYTES",
    "MAX_TXN_OPS",
    "chunks",
    "delete_txn",
    "failed_compares",
    "prefix_end",
    "put_txn",
]

#: etcd's defaults: --max-txn-ops 128 and --max-request-bytes 1.5 MiB; we stay
#: well under the byte limit because the request also carries compares and ranges.
MAX_TXN_OPS = 128
MAX_TXN_BYTES = 1024 * 1024

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


def put_txn(
    puts: Sequence[PutIf], *, key: Callable[[str], bytes], keys_only: bool
) -> rpc_pb2.TxnRequest:
    """One Txn of compared puts; ``key`` maps a contract key to etcd's (prefix added)."""
    req = rpc_pb2.TxnRequest()
    for p in puts:
        k = key(p.key)
        if p.mod_revision == 0:
            req.compare.append(_Cmp(key=k, target=_Cmp.CREATE, create_revision=0))
        else:
            req.compare.append(_Cmp(key=k, target=_Cmp.MOD, mod_revision=p.mod_revision))
        req.success.append(
            rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=k, value=p.value, lease=p.lease))
        )
        req.failure.append(
            rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=k, keys_only=keys_only))
        )
    return req


def delete_txn(key: bytes, *, mod_revision: int = 0) -> rpc_pb2.TxnRequest:
    """Delete ``key`` (returning it), compared on ``mod_revision`` unless 0;
    the failure branch reads the key."""
    return rpc_pb2.TxnRequest(
        compare=[_Cmp(key=key, target=_Cmp.MOD, mod_revision=mod_revision)] if mod_revision else [],
        success=[
            rpc_pb2.RequestOp(
                request_delete_range=rpc_pb2.DeleteRangeRequest(key=key, prev_kv=True)
            )
        ],
        failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))],
    )


def failed_compares(pending: Sequence[int], batch: Sequence[PutIf], responses: Any) -> set[int]:
    """The indexes (from ``pending``) whose compare failed, read from the
    failure branch's ranges of a Txn built by :func:`put_txn`."""
    failed: set[int] = set()
    for i, p, op in zip(pending, batch, responses, strict=True):
        kvs = op.response_range.kvs
        if (p.mod_revision == 0 and kvs) or (
            p.mod_revision != 0 and (not kvs or kvs[0].mod_revision != p.mod_revision)
        ):
            failed.add(i)
    return failed


def chunks(puts: Sequence[PutIf], max_ops: int) -> list[list[int]]:
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
