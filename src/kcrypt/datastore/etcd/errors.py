"""gRPC status -> datastore error, in one table.

etcd reports its own conditions as gRPC statuses with fixed messages
(``go.etcd.io/etcd/api/v3rpc/rpctypes``). :data:`TABLE` is the only place
that knows them; :func:`classify` looks an error up and :func:`translate`
builds the :mod:`kcrypt.datastore.errors` exception. Whether a *retry* is safe
is not decided here: see ``engine.py`` (reads always, compared writes with the
applied-check).
"""

from __future__ import annotations

import enum

import grpc

from kcrypt.datastore.errors import (
    Compacted,
    DatastoreError,
    FutureRevision,
    LeaseNotFound,
    Unavailable,
)

__all__ = ["TABLE", "Kind", "classify", "translate"]


class Kind(enum.Enum):
    RETRY = "retry"  # the member or the cluster is (momentarily) unable to answer
    COMPACTED = "compacted"
    FUTURE = "future"
    LEASE_NOT_FOUND = "lease_not_found"
    OTHER = "other"


_C = grpc.StatusCode

#: (status code, substring of the details ("" = any), kind); first match wins.
TABLE: tuple[tuple[grpc.StatusCode, str, Kind], ...] = (
    (_C.OUT_OF_RANGE, "required revision has been compacted", Kind.COMPACTED),
    (_C.OUT_OF_RANGE, "required revision is a future revision", Kind.FUTURE),
    (_C.NOT_FOUND, "requested lease not found", Kind.LEASE_NOT_FOUND),
    # no leader, leader changed, request timed out, server stopped, connection
    # refused/reset, TLS handshake failures: all UNAVAILABLE
    (_C.UNAVAILABLE, "", Kind.RETRY),
    (_C.DEADLINE_EXCEEDED, "", Kind.RETRY),
    (_C.RESOURCE_EXHAUSTED, "too many requests", Kind.RETRY),
    (_C.UNKNOWN, "proposal dropped", Kind.RETRY),
    (_C.UNKNOWN, "leader changed", Kind.RETRY),
)


def classify(err: grpc.aio.AioRpcError) -> Kind:
    code = err.code()
    details = err.details() or ""
    for c, text, kind in TABLE:
        if code == c and text in details:
            return kind
    return Kind.OTHER


def translate(
    err: grpc.aio.AioRpcError,
    *,
    endpoint: str,
    revision: int = 0,
    current: int = 0,
    compact_revision: int = 0,
    lease: int = 0,
) -> DatastoreError:
    """The datastore error for ``err``; the caller supplies the context numbers
    etcd does not put into its messages."""
    kind = classify(err)
    details = err.details() or ""
    if kind is Kind.COMPACTED:
        return Compacted(revision, compact_revision)
    if kind is Kind.FUTURE:
        return FutureRevision(revision, current)
    if kind is Kind.LEASE_NOT_FOUND:
        return LeaseNotFound(lease)
    if kind is Kind.RETRY:
        return Unavailable(endpoint, f"{err.code().name}: {details}")
    return DatastoreError(f"etcd {endpoint}: {err.code().name}: {details}")
