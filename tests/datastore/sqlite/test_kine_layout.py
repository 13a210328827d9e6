"""kine's layout: a k3s state.db opens read-only; kcrypt's file is plain kine + WAL."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from datastore.engines import collect
from kcrypt.datastore import EventType, Unavailable, open_datastore
from kcrypt.datastore.sqlite.schema import KINE_DDL

INSERT = """INSERT INTO kine(id, name, created, deleted, create_revision, prev_revision,
    lease, value, old_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def _k3s_state_db(db: Path) -> None:
    """What kine leaves behind: its DDL, compact_rev_key, history and a gap row."""
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA journal_mode=WAL")
    for stmt in KINE_DDL:
        raw.execute(stmt)
    v1, v2 = b"k8s:enc:aescbc:v1:key1:AAA", b"k8s:enc:aescbc:v1:key2:BBB"
    rows = [
        (1, "compact_rev_key", 1, 0, 0, 0, 0, b"", None),
        (2, "/registry/health", 1, 0, 0, 0, 0, b'{"health":"true"}', None),
        (3, "/registry/secrets/default/a", 1, 0, 0, 0, 0, v1, None),
        (4, "/registry/secrets/default/a", 0, 0, 3, 3, 0, v2, v1),
        (5, "gap-5", 0, 1, 0, 0, 0, None, None),
        (6, "/registry/secrets/default/b", 1, 0, 0, 0, 0, b"plain-b", None),
        (7, "/registry/secrets/default/b", 0, 1, 6, 6, 0, b"plain-b", b"plain-b"),
        (8, "/registry/configmaps/default/c", 1, 0, 0, 0, 0, b"cm", None),
    ]  # fmt: skip
    raw.executemany(INSERT, rows)
    raw.commit()
    raw.close()


async def test_a_k3s_state_db_opens_read_only(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _k3s_state_db(db)
    before = db.read_bytes()
    ds = await open_datastore(f"sqlite://{db}", read_only=True)
    try:
        assert await ds.revision() == 8
        page = await ds.range("/registry/secrets/")
        assert [(kv.key, kv.value, kv.version) for kv in page.kvs] == [
            ("/registry/secrets/default/a", b"k8s:enc:aescbc:v1:key2:BBB", 2)
        ]
        assert await ds.count("/registry/") == 3
        old = await ds.get("/registry/secrets/default/a", revision=3)
        assert old is not None and old.value.endswith(b"key1:AAA")
        events = await collect(ds, "/registry/secrets/", start_revision=1, count=4)
        assert [(e.type, e.kv.mod_revision) for e in events] == [
            (EventType.PUT, 3),
            (EventType.PUT, 4),
            (EventType.PUT, 6),
            (EventType.DELETE, 7),
        ]  # the gap row at 5 is no event
        with pytest.raises(Unavailable, match="read-only"):
            await ds.create("/registry/secrets/default/new", b"x")
    finally:
        await ds.close()
    assert db.read_bytes() == before
    assert not Path(f"{db}.lock").exists()


async def test_a_kcrypt_file_is_wal_with_kines_indexes(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    await ds.create("/registry/secrets/default/a", b"raw-value-1")
    await ds.close()
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {
            "kine_name_index",
            "kine_name_id_index",
            "kine_id_deleted_index",
            "kine_prev_revision_index",
            "kine_name_prev_revision_uindex",
        } <= indexes
        assert raw.execute("SELECT prev_revision FROM kine WHERE name='compact_rev_key'").fetchone()
    finally:
        raw.close()


async def test_values_are_readable_with_the_sqlite3_cli(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    try:
        await ds.create("/registry/secrets/default/a", b"k8s:enc:aescbc:v1:key1:opaque")
        out = subprocess.run(
            ["sqlite3", str(db), "select name, value from kine"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    finally:
        await ds.close()
    assert "/registry/secrets/default/a|k8s:enc:aescbc:v1:key1:opaque" in out


async def test_a_missing_file_is_unavailable_read_only(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="no such file"):
        await open_datastore(f"sqlite://{tmp_path}/absent.db", read_only=True)
    assert not (tmp_path / "absent.db").exists()
