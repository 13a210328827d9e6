"""One page of a list, with kube-apiserver's continue token and remaining count.

Kept apart from :mod:`kcrypt.storage.store` because paging is its own
concern: the token (base64url JSON holding the start key and the revision
of the first page, see :mod:`kcrypt.storage.continuation`) pins every later
page to that revision, so a paged list is one consistent snapshot, and a
page is only full once ``limit`` objects *matched* the selectors, which may
take several datastore ranges.

As etcd3's ``GetList`` does:

* ``remainingItemCount`` is set on every page that has a continue token and
  no selector: the keys left after the page at the page's revision (an
  estimate for clients; objects may change meanwhile);
* ``resourceVersion`` with a ``limit`` and no ``resourceVersionMatch`` is an
  exact read at that revision (the legacy rule), ``Exact`` always is; without
  a limit it means "not older than", and a revision the store has not reached
  is 504 ``Too large resource version``;
* a compacted revision is 410: for a continue token, with a new token for the
  same start key at revision -1 (the latest); for a plain list, ``The
  resourceVersion for the provided list is too old.``
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kcrypt.datastore import errors as ds_errors
from kcrypt.datastore.contract import Datastore, KeyValue, Page
from kcrypt.storage.continuation import (
    TOO_OLD_CONTINUE,
    TOO_OLD_LIST,
    decode_continue,
    encode_continue,
)
from kcrypt.storage.errors import Expired, TooLargeResourceVersion
from kcrypt.storage.objects import Obj, ObjectList, matches, parse_rv
from kcrypt.storage.selectors import FieldSelector, LabelSelector

__all__ = ["list_page"]

_MAX_REVISION = 2**63 - 1


async def _range(
    datastore: Datastore,
    key_prefix: str,
    *,
    start_after: str | None,
    limit: int,
    revision: int,
    continue_token: str | None,
) -> Page:
    try:
        return await datastore.range(
            key_prefix, start_after=start_after, limit=limit, revision=revision
        )
    except ds_errors.Compacted:
        if continue_token and start_after is not None:
            fresh = encode_continue(start_after, key_prefix=key_prefix, revision=-1)
            raise Expired(TOO_OLD_CONTINUE, continue_token=fresh) from None
        raise Expired(TOO_OLD_LIST) from None
    except ds_errors.FutureRevision as exc:
        raise TooLargeResourceVersion(exc.revision, exc.current) from None


async def _left(datastore: Datastore, key_prefix: str, last: KeyValue, revision: int) -> int | None:
    """Keys after ``last`` at ``revision``; None when that revision went meanwhile."""
    try:
        return await datastore.count(key_prefix, start_after=last.key, revision=revision)
    except ds_errors.Compacted:
        return None


async def list_page(
    datastore: Datastore,
    key_prefix: str,
    read: Callable[[KeyValue], Awaitable[Obj]],
    *,
    labels: LabelSelector,
    fields: FieldSelector,
    limit: int = 0,
    continue_token: str | None = None,
    resource_version: str | None = None,
    resource_version_match: str | None = None,
) -> ObjectList:
    """At most ``limit`` (0 or less: all) objects under ``key_prefix`` that match.

    ``read`` turns a stored row into its object (decrypt and decode); the
    caller owns that so this module knows nothing of transformers.
    """
    limit = max(limit, 0)
    start_after: str | None = None
    revision = minimum = 0
    if continue_token:
        start_after, revision = decode_continue(continue_token, key_prefix=key_prefix)
    elif resource_version not in (None, "", "0"):
        wanted = min(parse_rv(str(resource_version)), _MAX_REVISION)
        if resource_version_match == "Exact" or (not resource_version_match and limit):
            revision = wanted
        else:
            minimum = wanted
    selective = not (labels.empty and fields.empty)
    items: list[Obj] = []
    while True:
        page = await _range(
            datastore,
            key_prefix,
            start_after=start_after,
            limit=limit,
            revision=revision,
            continue_token=continue_token,
        )
        if minimum > page.revision:
            raise TooLargeResourceVersion(minimum, page.revision)
        revision = page.revision
        for i, kv in enumerate(page.kvs):
            obj = await read(kv)
            if matches(obj, labels, fields):
                items.append(obj)
            if limit and len(items) >= limit:
                if not (page.more or i + 1 < len(page.kvs)):
                    return ObjectList(tuple(items), str(revision), "")
                token = encode_continue(kv.key, key_prefix=key_prefix, revision=revision)
                remaining = None if selective else await _left(datastore, key_prefix, kv, revision)
                return ObjectList(tuple(items), str(revision), token, remaining)
        if not page.more or not page.kvs:
            return ObjectList(tuple(items), str(revision), "")
        start_after = page.kvs[-1].key
