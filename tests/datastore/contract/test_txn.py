"""txn_put: independent compared puts in one call."""

from __future__ import annotations

from datastore.engines import Engine
from kcrypt.datastore import PutIf


async def test_each_put_succeeds_or_fails_on_its_own_compare(engine: Engine) -> None:
    rev_a = await engine.ds.create(engine.key("a"), b"a1")
    rev_b = await engine.ds.create(engine.key("b"), b"b1")
    res = await engine.ds.txn_put(
        [
            PutIf(engine.key("a"), b"a2", rev_a),  # right revision
            PutIf(engine.key("b"), b"b2", rev_b - 1),  # wrong revision
            PutIf(engine.key("c"), b"c1", 0),  # absent: created
            PutIf(engine.key("a"), b"a3", 0),  # must be absent, is not
            PutIf(engine.key("d"), b"d1", 12345),  # compares against a missing key
        ]
    )
    assert res.succeeded == (True, False, True, False, False)
    assert res.revision == await engine.ds.revision()
    values = {kv.key: kv.value for kv in (await engine.ds.range(engine.prefix)).kvs}
    assert values == {engine.key("a"): b"a2", engine.key("b"): b"b1", engine.key("c"): b"c1"}


async def test_a_txn_where_every_compare_fails_writes_nothing(engine: Engine) -> None:
    await engine.ds.create(engine.key("a"), b"1")
    before = await engine.ds.revision()
    res = await engine.ds.txn_put([PutIf(engine.key("a"), b"2", 0)])
    assert res.succeeded == (False,)
    assert await engine.ds.revision() == before == res.revision


async def test_an_empty_txn_is_a_no_op(engine: Engine) -> None:
    before = await engine.ds.revision()
    res = await engine.ds.txn_put([])
    assert res.succeeded == () and res.revision == before


async def test_a_large_batch_is_applied_whole(engine: Engine) -> None:
    puts = [PutIf(engine.key(f"k{i:04d}"), bytes(1024), 0) for i in range(500)]
    res = await engine.ds.txn_put(puts)
    assert all(res.succeeded)
    assert await engine.ds.count(engine.prefix) == 500
    page = await engine.ds.range(engine.prefix)
    # Puts applied in one physical transaction may share a revision (etcd).
    assert max(kv.mod_revision for kv in page.kvs) == res.revision


async def test_rewriting_a_page_with_its_own_revisions(engine: Engine) -> None:
    """The re-encryption pattern: read a page, put every value back compared."""
    await engine.ds.txn_put([PutIf(engine.key(f"k{i}"), b"old", 0) for i in range(10)])
    page = await engine.ds.range(engine.prefix)
    racer = page.kvs[3]
    await engine.ds.update(racer.key, b"racer", mod_revision=racer.mod_revision)
    res = await engine.ds.txn_put([PutIf(kv.key, b"new", kv.mod_revision) for kv in page.kvs])
    assert res.succeeded == tuple(i != 3 for i in range(10))
    values = [kv.value for kv in (await engine.ds.range(engine.prefix)).kvs]
    assert values == [b"racer" if i == 3 else b"new" for i in range(10)]


async def test_each_applied_put_reports_the_revision_it_got(engine: Engine) -> None:
    """A writer learns its puts' revisions from the answer, never by reading back."""
    rev_a = await engine.ds.create(engine.key("a"), b"a1")
    puts = [
        PutIf(engine.key("a"), b"a2", rev_a),
        PutIf(engine.key("b"), b"b1", 0),
        PutIf(engine.key("a"), b"stale", rev_a),  # its compare fails
        *(PutIf(engine.key(f"k{i:03d}"), b"x", 0) for i in range(300)),  # several etcd Txns
    ]
    res = await engine.ds.txn_put(puts)
    assert res.succeeded == tuple(r > 0 for r in res.revisions)
    assert res.revisions[2] == 0
    page = await engine.ds.range(engine.prefix)
    current = {kv.key: kv.mod_revision for kv in page.kvs}
    for put, revision in zip(puts, res.revisions, strict=True):
        if revision:
            assert current[put.key] == revision
    assert max(res.revisions) == res.revision


async def test_written_since_lists_what_others_wrote_not_my_own_puts(engine: Engine) -> None:
    """The key-removal proof's question: who wrote under the prefix since R, except me?"""
    await engine.ds.txn_put([PutIf(engine.key(f"k{i}"), b"old", 0) for i in range(6)])
    start = await engine.ds.revision()
    page = await engine.ds.range(engine.prefix)
    mine = await engine.ds.txn_put([PutIf(kv.key, b"mine", kv.mod_revision) for kv in page.kvs])
    others = await engine.ds.create(engine.key("k9"), b"theirs")
    k3 = await engine.ds.get(engine.key("k3"))
    assert k3 is not None
    await engine.ds.update(engine.key("k3"), b"theirs too", mod_revision=k3.mod_revision)
    await engine.ds.delete(engine.key("k4"))
    ranges = [(min(mine.revisions), max(mine.revisions))]
    found = await engine.ds.written_since(engine.prefix, revision=start, excluding=ranges)
    assert [(kv.key, kv.value) for kv in found] == [
        (engine.key("k3"), b"theirs too"),
        (engine.key("k9"), b"theirs"),
    ]
    assert others > start
    everything = await engine.ds.written_since(engine.prefix, revision=start)
    assert len(everything) == 6  # k0-k2, k3, k5 (mine, k3 theirs) and k9; k4 is gone
