"""Compact a datastore's whole history now.

After a re-encryption pass every value was rewritten, but each engine keeps
the previous revisions (etcd's MVCC, kine's log rows and ``old_value``): the
old ciphertexts -- or the plaintext, after ``enable`` -- stay readable by
anyone with a copy of the store and, later, the old key. The encryption
controller compacts as soon as a pass ends instead of waiting for two
periodic compactions (10 minutes by default).
"""

from __future__ import annotations

import contextlib
import logging

from kcrypt.datastore.contract import Datastore
from kcrypt.datastore.errors import KeyExists

__all__ = ["COMPACT_NOW_KEY", "compact_history"]

log = logging.getLogger("kcrypt.datastore.compaction")

COMPACT_NOW_KEY = "/kcrypt/compaction-marker"


async def compact_history(datastore: Datastore) -> int:
    """Compact all history written so far; returns the compaction revision.

    Compacting at revision R keeps the change made *at* R, with the value it
    replaced, for watchers that resume from R; so one marker write first moves
    R past every value already stored. Watchers started before get
    ``Compacted`` (HTTP 410) and relist, which every Kubernetes client handles:
    that is the price of dropping old ciphertexts at once.
    """
    marker = await datastore.get(COMPACT_NOW_KEY)
    if marker is None:
        # KeyExists: another server just wrote it; the revision moved all the same
        with contextlib.suppress(KeyExists):
            await datastore.create(COMPACT_NOW_KEY, b"{}")
    else:
        await datastore.update(COMPACT_NOW_KEY, b"{}", mod_revision=marker.mod_revision)
    revision = await datastore.revision()
    await datastore.compact(revision)
    log.info("history compacted up to revision %d", revision)
    return revision
