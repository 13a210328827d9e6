"""One writer per SQLite file: a second process gets WriterLocked, naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kcrypt.datastore import open_datastore

OPEN_IN_CHILD = """
import asyncio, sys
from kcrypt.datastore import open_datastore
from kcrypt.datastore.errors import WriterLocked

async def main() -> None:
    try:
        ds = await open_datastore("sqlite://" + sys.argv[1])
    except WriterLocked as exc:
        print("WriterLocked:", exc)
        return
    await ds.close()
    print("opened")

asyncio.run(main())
"""


def _open_in_another_process(db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_IN_CHILD, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


async def test_a_second_process_is_refused_while_the_first_holds_the_file(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    ds = await open_datastore(f"sqlite://{db}")
    try:
        out = _open_in_another_process(db)
        assert out.startswith("WriterLocked:")
        assert str(db) in out
        assert "only one process may write" in out
    finally:
        await ds.close()
    assert _open_in_another_process(db) == "opened"


async def test_a_read_only_open_takes_no_lock(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    writer = await open_datastore(f"sqlite://{db}")
    await writer.create("/registry/secrets/ns/a", b"v")
    reader = await open_datastore(f"sqlite://{db}", read_only=True)
    try:
        kv = await reader.get("/registry/secrets/ns/a")
        assert kv is not None and kv.value == b"v"
    finally:
        await reader.close()
        await writer.close()
