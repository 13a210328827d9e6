"""Make a datastore hold exactly what a snapshot image holds (a logical restore).

Both stores are walked in key order at one revision each and merged: a key
only the image has is created, one whose value differs is updated (compared
on the revision read), one only the target has is deleted. So the target's
revisions keep moving forward -- watchers and caches never see time run
backwards (etcdutl's ``--bump-revision`` exists for the same reason) -- and a
snapshot of one engine restores into another. Some keys describe live
processes and their disks, not a point in time: keys held by a lease
(liveness markers, leader leases) and the per-server records (what config
each server's local file holds). They are neither copied from the image nor
deleted from the target. The re-encryption checkpoint is not copied either (a
pass in progress at snapshot time is not resumed: the restore records its own
encryption state). Running it again after an interruption
finishes the job: it only converges.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

from kcrypt.datastore import Datastore, KeyValue, PutIf
from kcrypt.encryption import CHECKPOINT_KEY
from kcrypt.encryption.servers import LIVE_PREFIX, SERVERS_PREFIX
from kcrypt.snapshot.errors import SnapshotError

__all__ = ["Loaded", "load_image"]

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Loaded:
    created: int
    updated: int
    deleted: int
    unchanged: int


_PROCESS_PREFIXES = (SERVERS_PREFIX, LIVE_PREFIX)


def _live(kv: KeyValue) -> bool:
    """A key that belongs to a running process, not to the data."""
    return kv.lease != 0 or kv.key.startswith(_PROCESS_PREFIXES)


def _copied(kv: KeyValue) -> bool:
    return not _live(kv) and kv.key != CHECKPOINT_KEY


async def _walk(ds: Datastore, revision: int, page: int = 1000) -> AsyncIterator[KeyValue]:
    after: str | None = None
    while True:
        chunk = await ds.range("", start_after=after, limit=page, revision=revision)
        for kv in chunk.kvs:
            yield kv
        if not chunk.more or not chunk.kvs:
            return
        after = chunk.kvs[-1].key


async def load_image(image: Datastore, target: Datastore, *, keep: Collection[str] = ()) -> Loaded:
    """Converge ``target`` on ``image``; ``keep``: target keys never deleted (markers)."""
    src = _walk(image, await image.revision())
    dst = _walk(target, await target.revision())
    a = await anext(src, None)
    b = await anext(dst, None)
    puts: list[PutIf] = []
    created = updated = deleted = unchanged = 0

    async def flush() -> None:
        if not puts:
            return
        result = await target.txn_put(puts)
        if not all(result.succeeded):
            raise SnapshotError(
                f"a key changed while the restore wrote it ({target.endpoint}): stop every "
                "server using this datastore, then run the restore again"
            )
        puts.clear()

    while a is not None or b is not None:
        if a is not None and not _copied(a):
            a = await anext(src, None)
            continue
        if b is not None and (a is None or b.key < a.key):
            if not _live(b) and b.key not in keep:
                await target.delete(b.key, mod_revision=b.mod_revision)
                deleted += 1
            b = await anext(dst, None)
            continue
        assert a is not None
        if b is not None and b.key == a.key:
            if b.value == a.value and not _live(b):
                unchanged += 1
            else:
                puts.append(PutIf(a.key, a.value, b.mod_revision))
                updated += 1
            b = await anext(dst, None)
        else:
            puts.append(PutIf(a.key, a.value, 0))
            created += 1
        a = await anext(src, None)
        if len(puts) >= _BATCH:
            await flush()
    await flush()
    return Loaded(created=created, updated=updated, deleted=deleted, unchanged=unchanged)
