"""One page of a list, with kube-apiserver's continue token.

Kept apart from :mod:`kcrypt.storage.store` because paging is its own
concern: the token (base64url JSON holding the start key and the revision
of the first page, see :mod:`kcrypt.storage.continuation`) pins every later
page to that revision, so a paged list is one consistent snapshot, and a
page is only full once ``limit`` objects *matched* the selectors, which may
take several datastore ranges.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kcrypt.datastore import errors as ds_errors
from kcrypt.datastore.contract import Datastore, KeyValue
from kcrypt.storage.continuation import TOO_OLD_CONTINUE, decode_continue, encode_continue
from kcrypt.storage.errors import BadRequest, Expired
from kcrypt.storage.objects import Obj, ObjectList, matches, parse_rv
from kcrypt.storage.selectors import FieldSelector, LabelSelector

__all__ = ["list_page"]


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
    """At most ``limit`` (0: all) objects under ``key_prefix`` that match.

    ``read`` turns a stored row into its object (decrypt and decode); the
    caller owns that so this module knows nothing of transformers.
    """
    start_after: str | None = None
    revision = 0
    if continue_token:
        start_after, revision = decode_continue(continue_token, key_prefix=key_prefix)
    elif resource_version and resource_version_match == "Exact":
        revision = parse_rv(resource_version)
    items: list[Obj] = []
    while True:
        try:
            page = await datastore.range(
                key_prefix, start_after=start_after, limit=limit, revision=revision
            )
        except ds_errors.Compacted:
            if continue_token:
                raise Expired(TOO_OLD_CONTINUE) from None
            raise Expired(f"too old resource version: {revision}") from None
        except ds_errors.FutureRevision as exc:
            raise BadRequest(
                f"Too large resource version: {exc.revision}, current: {exc.current}"
            ) from None
        revision = page.revision
        for i, kv in enumerate(page.kvs):
            obj = await read(kv)
            if matches(obj, labels, fields):
                items.append(obj)
            if limit and len(items) >= limit:
                more = page.more or i + 1 < len(page.kvs)
                token = (
                    encode_continue(kv.key, key_prefix=key_prefix, revision=revision)
                    if more
                    else ""
                )
                return ObjectList(tuple(items), str(revision), token)
        if not page.more or not page.kvs:
            return ObjectList(tuple(items), str(revision), "")
        start_after = page.kvs[-1].key
