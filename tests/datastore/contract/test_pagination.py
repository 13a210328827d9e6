"""Paging with limit and start_after, pinned to a revision."""

from __future__ import annotations

from datastore.engines import Engine
from kcrypt.datastore import KeyValue, PutIf


async def _fill(engine: Engine, n: int) -> None:
    await engine.ds.txn_put([PutIf(engine.key(f"k{i:03d}"), b"v%d" % i, 0) for i in range(n)])


async def _all_pages(engine: Engine, *, limit: int, revision: int = 0) -> list[list[KeyValue]]:
    pages: list[list[KeyValue]] = []
    after: str | None = None
    while True:
        page = await engine.ds.range(
            engine.prefix, start_after=after, limit=limit, revision=revision
        )
        pages.append(list(page.kvs))
        revision = page.revision
        if not page.more:
            return pages
        after = page.kvs[-1].key


async def test_pages_cover_every_key_once(engine: Engine) -> None:
    await _fill(engine, 25)
    pages = await _all_pages(engine, limit=10)
    assert [len(p) for p in pages] == [10, 10, 5]
    keys = [kv.key for p in pages for kv in p]
    assert keys == [engine.key(f"k{i:03d}") for i in range(25)]


async def test_an_exact_multiple_ends_with_more_false(engine: Engine) -> None:
    await _fill(engine, 20)
    first = await engine.ds.range(engine.prefix, limit=10)
    second = await engine.ds.range(
        engine.prefix, limit=10, start_after=first.kvs[-1].key, revision=first.revision
    )
    assert first.more and not second.more
    assert len(second.kvs) == 10


async def test_limit_zero_returns_everything(engine: Engine) -> None:
    await _fill(engine, 15)
    page = await engine.ds.range(engine.prefix, limit=0)
    assert len(page.kvs) == 15 and page.more is False


async def test_start_after_need_not_exist(engine: Engine) -> None:
    await _fill(engine, 5)
    page = await engine.ds.range(engine.prefix, start_after=engine.key("k001x"))
    assert [kv.key for kv in page.kvs] == [engine.key(f"k{i:03d}") for i in (2, 3, 4)]


async def test_pages_at_a_pinned_revision_ignore_concurrent_writes(engine: Engine) -> None:
    await _fill(engine, 30)
    snapshot = await engine.ds.range(engine.prefix)
    first = await engine.ds.range(engine.prefix, limit=10)
    # Writers change the keyspace between pages: before and after the cursor.
    await engine.ds.create(engine.key("k000a"), b"new, before the cursor")
    await engine.ds.create(engine.key("k025a"), b"new, after the cursor")
    kv20 = snapshot.kvs[20]
    await engine.ds.update(kv20.key, b"changed", mod_revision=kv20.mod_revision)
    await engine.ds.delete(snapshot.kvs[29].key)
    rest = await _all_pages_from(engine, first.kvs[-1].key, first.revision)
    assert [*first.kvs, *rest] == list(snapshot.kvs)
    now = await engine.ds.range(engine.prefix)
    assert len(now.kvs) == 31


async def _all_pages_from(engine: Engine, after: str, revision: int) -> list[KeyValue]:
    out: list[KeyValue] = []
    while True:
        page = await engine.ds.range(engine.prefix, start_after=after, limit=10, revision=revision)
        assert page.revision == revision
        out.extend(page.kvs)
        if not page.more:
            return out
        after = page.kvs[-1].key


async def test_pages_skip_runs_of_deleted_keys(engine: Engine) -> None:
    # Deleted keys between live ones (more of them than a page holds) neither
    # shorten a page nor end the listing early.
    await _fill(engine, 30)
    kept = {0, 1, 9, 25, 29}
    for i in range(30):
        if i not in kept:
            await engine.ds.delete(engine.key(f"k{i:03d}"))
    pages = await _all_pages(engine, limit=2)
    assert [[kv.key for kv in p] for p in pages] == [
        [engine.key("k000"), engine.key("k001")],
        [engine.key("k009"), engine.key("k025")],
        [engine.key("k029")],
    ]
    assert await engine.ds.count(engine.prefix) == len(kept)
