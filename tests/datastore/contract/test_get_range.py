"""get, range and count: what a reader sees."""

from __future__ import annotations

import pytest

from datastore.engines import Engine
from kcrypt.datastore import FutureRevision


async def test_a_missing_key_reads_as_none(engine: Engine) -> None:
    assert await engine.ds.revision() >= 1
    assert await engine.ds.get(engine.key("missing")) is None


async def test_a_created_key_reads_back_with_its_revisions(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"\x00value\xff")
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None
    assert (kv.key, kv.value) == (engine.key("a"), b"\x00value\xff")
    assert kv.create_revision == kv.mod_revision == rev
    assert kv.version == 1
    assert await engine.ds.revision() == rev


async def test_reads_do_not_move_the_revision(engine: Engine) -> None:
    await engine.ds.create(engine.key("a"), b"1")
    before = await engine.ds.revision()
    await engine.ds.get(engine.key("a"))
    await engine.ds.range(engine.prefix)
    await engine.ds.count(engine.prefix)
    assert await engine.ds.revision() == before


async def test_range_lists_only_the_prefix_in_byte_order(engine: Engine) -> None:
    for name in ["b", "a", "z", "\u00e9", "a/deeper"]:
        await engine.ds.create(engine.key("dir", name), name.encode())
    await engine.ds.create(engine.key("dirx"), b"sibling, not under dir/")
    page = await engine.ds.range(engine.key("dir", ""))
    names = [kv.key.removeprefix(engine.key("dir", "")) for kv in page.kvs]
    assert names == ["a", "a/deeper", "b", "z", "\u00e9"]  # UTF-8 byte order
    assert page.more is False
    assert page.revision == await engine.ds.revision()
    assert await engine.ds.count(engine.key("dir", "")) == 5
    assert await engine.ds.count(engine.prefix) == 6
    # what is left after a page ending at "a/deeper" (the paged list's remainingItemCount)
    left = await engine.ds.count(engine.key("dir", ""), start_after=engine.key("dir", "a/deeper"))
    assert left == 3
    assert (
        await engine.ds.count(engine.key("dir", ""), start_after=engine.key("dir", "\u00e9")) == 0
    )


async def test_reads_at_an_older_revision_see_the_older_value(engine: Engine) -> None:
    first = await engine.ds.create(engine.key("a"), b"one")
    res = await engine.ds.update(engine.key("a"), b"two", mod_revision=first)
    await engine.ds.create(engine.key("b"), b"later")
    old = await engine.ds.get(engine.key("a"), revision=first)
    assert old is not None and old.value == b"one"
    page = await engine.ds.range(engine.prefix, revision=first)
    assert [kv.value for kv in page.kvs] == [b"one"]
    assert page.revision == first
    assert await engine.ds.count(engine.prefix, revision=first) == 1
    now = await engine.ds.get(engine.key("a"))
    assert now is not None and (now.value, now.mod_revision) == (b"two", res.revision)


async def test_a_future_revision_is_refused(engine: Engine) -> None:
    current = await engine.ds.revision()
    with pytest.raises(FutureRevision):
        await engine.ds.get(engine.key("a"), revision=current + 1000)
    with pytest.raises(FutureRevision):
        await engine.ds.range(engine.prefix, revision=current + 1000)


async def test_versions_count_changes_and_restart_after_a_delete(engine: Engine) -> None:
    rev = await engine.ds.create(engine.key("a"), b"1")
    for value in (b"2", b"3"):
        rev = (await engine.ds.update(engine.key("a"), value, mod_revision=rev)).revision
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None and kv.version == 3
    await engine.ds.delete(engine.key("a"))
    assert await engine.ds.get(engine.key("a")) is None
    again = await engine.ds.create(engine.key("a"), b"new")
    kv = await engine.ds.get(engine.key("a"))
    assert kv is not None
    assert (kv.version, kv.create_revision, kv.value) == (1, again, b"new")


async def test_a_keys_only_range_has_every_field_but_the_value(engine: Engine) -> None:
    await engine.ds.create(engine.key("a"), b"value-a")
    rev_b = await engine.ds.create(engine.key("b"), b"value-b")
    await engine.ds.update(engine.key("b"), b"value-b2", mod_revision=rev_b)
    full = await engine.ds.range(engine.prefix)
    keys = await engine.ds.range(engine.prefix, keys_only=True)
    assert [kv.value for kv in keys.kvs] == [b"", b""]
    assert [(kv.key, kv.mod_revision, kv.create_revision, kv.version) for kv in keys.kvs] == [
        (kv.key, kv.mod_revision, kv.create_revision, kv.version) for kv in full.kvs
    ]
    first = await engine.ds.range(engine.prefix, limit=1, keys_only=True)
    assert first.more and [kv.key for kv in first.kvs] == [engine.key("a")]


async def test_the_empty_prefix_ranges_and_counts_every_key(engine: Engine) -> None:
    await engine.ds.create(engine.key("x"), b"1")
    await engine.ds.create(engine.key("y"), b"2")
    page = await engine.ds.range("")
    mine = [kv.key for kv in page.kvs if kv.key.startswith(engine.prefix)]
    assert mine == [engine.key("x"), engine.key("y")]
    assert await engine.ds.count("") >= 2
