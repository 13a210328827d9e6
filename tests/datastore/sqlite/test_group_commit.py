"""Group commit: concurrent writes share one SQLite transaction, and nothing
about a write is visible or answered before it is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from kcrypt.datastore import KeyExists, Unavailable, open_datastore
from kcrypt.datastore.sqlite.commit import GroupCommit


def _rows_on_disk(db: Path, prefix: str) -> dict[str, bytes]:
    """What a separate connection (another process would see the same) reads."""
    with sqlite3.connect(db) as raw:
        rows = raw.execute(
            "SELECT name, value FROM kine WHERE name LIKE ? AND deleted = 0", (prefix + "%",)
        ).fetchall()
    return {str(name): bytes(value) for name, value in rows}


async def test_concurrent_creates_are_all_durable_with_distinct_revisions(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    try:
        keys = [f"/registry/secrets/default/s{i}" for i in range(64)]
        revisions = await asyncio.gather(*(ds.create(k, k.encode()) for k in keys))
        assert len(set(revisions)) == len(keys)
        assert _rows_on_disk(db, "/registry/secrets/") == {k: k.encode() for k in keys}
        for key, rev in zip(keys, revisions, strict=True):
            kv = await ds.get(key)
            assert kv is not None and kv.mod_revision == rev
        assert await ds.revision() == max(revisions)
    finally:
        await ds.close()


async def test_racing_creates_of_one_key_have_one_winner(tmp_path: Path) -> None:
    ds = await open_datastore(f"sqlite://{tmp_path / 'state.db'}")
    try:
        results = await asyncio.gather(
            *(ds.create("/k", str(i).encode()) for i in range(20)), return_exceptions=True
        )
        winners = [r for r in results if isinstance(r, int)]
        assert len(winners) == 1
        assert all(isinstance(r, KeyExists) for r in results if not isinstance(r, int))
        # racing CAS updates on the winner's revision: again exactly one applies
        updates = await asyncio.gather(
            *(ds.update("/k", b"u%d" % i, mod_revision=winners[0]) for i in range(10))
        )
        assert sum(u.ok for u in updates) == 1
        losers = [u for u in updates if not u.ok]
        assert all(u.current is not None and u.current.value.startswith(b"u") for u in losers)
    finally:
        await ds.close()


async def test_a_write_is_neither_visible_nor_answered_before_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    release = threading.Event()
    committing = threading.Event()
    real_commit = GroupCommit._commit

    def slow_commit(self: GroupCommit) -> None:
        committing.set()
        release.wait(10)
        real_commit(self)

    monkeypatch.setattr(GroupCommit, "_commit", slow_commit)
    try:
        before = await ds.revision()
        writer = asyncio.create_task(ds.create("/pending", b"v"))
        while not committing.is_set():
            await asyncio.sleep(0.005)
        # the commit is on its way to disk: the writer waits, readers see the old state
        assert not writer.done()
        assert await ds.get("/pending") is None
        assert await ds.revision() == before
        assert (await ds.range("/")).kvs == ()
        # a second writer queues behind the commit, then sees the first write
        second = asyncio.create_task(ds.create("/pending", b"other"))
        await asyncio.sleep(0.02)
        assert not second.done()
        release.set()
        revision = await writer
        with pytest.raises(KeyExists):
            await second
        kv = await ds.get("/pending")
        assert kv is not None and kv.mod_revision == revision
        assert _rows_on_disk(db, "/pending") == {"/pending": b"v"}
    finally:
        release.set()
        await ds.close()


async def test_a_failed_commit_fails_every_write_of_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    real_commit = GroupCommit._commit
    failing = True

    def broken_commit(self: GroupCommit) -> None:
        if failing:
            self._db.execute("ROLLBACK")
            raise sqlite3.OperationalError("disk I/O error")
        real_commit(self)

    monkeypatch.setattr(GroupCommit, "_commit", broken_commit)
    try:
        results = await asyncio.gather(
            *(ds.create(f"/f/{i}", b"v") for i in range(8)), return_exceptions=True
        )
        assert all(isinstance(r, Unavailable) for r in results), results
        assert all("disk I/O error" in str(r) for r in results)
        assert _rows_on_disk(db, "/f/") == {}
        assert (await ds.range("/f/")).kvs == ()
        failing = False
        assert await ds.create("/f/0", b"again") > 0
        assert _rows_on_disk(db, "/f/") == {"/f/0": b"again"}
    finally:
        await ds.close()


async def test_a_write_in_flight_at_close_is_committed(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    writer = asyncio.create_task(ds.create("/last", b"v"))
    await asyncio.sleep(0)  # the write block ran; its commit is only scheduled
    await ds.close()
    await writer
    assert _rows_on_disk(db, "/last") == {"/last": b"v"}
