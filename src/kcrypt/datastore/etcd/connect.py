"""Opening the etcd engine: an endpoint URL and TLS files to a connected :class:`EtcdDatastore`.

The URL's options are checked here, and the cluster is asked for its revision
once, so that an unreachable or misnamed cluster fails at open, naming the
endpoint, rather than at the first request.
"""

from __future__ import annotations

from pathlib import Path

from kcrypt.datastore.errors import InvalidEndpoint
from kcrypt.datastore.etcd.channel import Channels, parse_url
from kcrypt.datastore.etcd.engine import EtcdDatastore
from kcrypt.datastore.etcd.txn import MAX_TXN_OPS

__all__ = ["open_etcd"]


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
