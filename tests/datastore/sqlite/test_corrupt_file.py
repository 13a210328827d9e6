"""A file that is not kine's database is refused, and left exactly as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kcrypt.datastore import CorruptStore, open_datastore


async def _assert_refused(db: Path, *, read_only: bool = False) -> str:
    before = db.read_bytes()
    with pytest.raises(CorruptStore) as info:
        await open_datastore(f"sqlite://{db}", read_only=read_only)
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()
    assert str(db) in str(info.value)
    return str(info.value)


async def test_garbage_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not sqlite at all\x00" * 300)
    await _assert_refused(db)
    await _assert_refused(db, read_only=True)


async def test_a_kine_table_with_other_columns_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as raw:
        raw.execute("CREATE TABLE kine (id INTEGER PRIMARY KEY, name TEXT, value BLOB)")
    message = await _assert_refused(db)
    assert "table kine has columns (id, name, value)" in message


async def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as raw:
        raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    message = await _assert_refused(db)
    assert "users" in message
