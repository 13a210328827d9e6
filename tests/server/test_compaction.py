"""History compaction removes the old ciphertexts a rotation leaves behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kcrypt.datastore import Compacted, Datastore, compact_history, open_datastore
from kcrypt.server.compaction import Compactor

OLD = b"k8s:enc:aescbc:v1:old:" + bytes(32)
NEW = b"k8s:enc:aescbc:v1:new:" + bytes(32)


@pytest.fixture
def store(datastore: Datastore) -> Datastore:
    return datastore


async def test_compact_now_drops_the_value_written_under_the_old_key(store: Datastore) -> None:
    rev = await store.create("/registry/secrets/default/s", OLD)
    await store.update("/registry/secrets/default/s", NEW, mod_revision=rev)
    assert (await store.get("/registry/secrets/default/s", revision=rev)) is not None

    await compact_history(store)

    with pytest.raises(Compacted):
        await store.get("/registry/secrets/default/s", revision=rev)
    current = await store.get("/registry/secrets/default/s")
    assert current is not None and current.value == NEW


async def test_no_sqlite_row_keeps_the_old_ciphertext(tmp_path: Path) -> None:
    ds = await open_datastore(f"sqlite://{tmp_path}/state.db")
    try:
        rev = await ds.create("/registry/secrets/default/s", OLD)
        await ds.update("/registry/secrets/default/s", NEW, mod_revision=rev)
        await compact_history(ds)
    finally:
        await ds.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("select value, old_value from kine").fetchall()
    stored = [bytes(v) for row in rows for v in row if v is not None]
    assert not any(v.startswith(b"k8s:enc:aescbc:v1:old:") for v in stored)
    assert NEW in stored


async def test_a_periodic_pass_keeps_one_interval_of_history(store: Datastore) -> None:
    compactor = Compactor(store, interval=60)
    rev = await store.create("/registry/secrets/default/s", OLD)
    await store.update("/registry/secrets/default/s", NEW, mod_revision=rev)
    first = await compactor.tick()
    assert first.compacted_to == 0  # nothing seen before the first tick
    # the history up to the first tick is still readable until the next tick
    assert (await store.get("/registry/secrets/default/s", revision=rev)) is not None
    second = await compactor.tick()
    assert second.compacted_to == first.next_target
    with pytest.raises(Compacted):
        await store.get("/registry/secrets/default/s", revision=rev)


async def test_two_servers_compact_each_target_once(store: Datastore) -> None:
    a, b = Compactor(store, interval=60), Compactor(store, interval=60)
    await store.create("/registry/secrets/default/s", OLD)
    await a.tick()
    await b.tick()
    await store.create("/registry/secrets/default/t", NEW)
    results = [await a.tick(), await b.tick()]
    assert sum(1 for r in results if r.compacted_to) == 1


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Compactor(object(), interval=0)  # type: ignore[arg-type]


async def test_compacted_values_are_not_left_in_the_sqlite_file(tmp_path: Path) -> None:
    """Free pages are zeroed (secure_delete): the old ciphertexts leave the disk."""
    marker = b"OLD-CIPHERTEXT-" * 200
    ds = await open_datastore(f"sqlite://{tmp_path}/state.db")
    try:
        for i in range(50):
            key = f"/registry/secrets/default/s{i}"
            rev = await ds.create(key, marker)
            await ds.update(key, NEW, mod_revision=rev)
        await compact_history(ds)
    finally:
        await ds.close()
    with sqlite3.connect(tmp_path / "state.db") as db:  # fold the WAL into the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert NEW in on_disk
    assert marker[:60] not in on_disk
