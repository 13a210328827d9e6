"""After a rotation, the old key's ciphertexts leave the store's history too.

The SQLite file keeps every revision (kine's log table, with the replaced value
in ``old_value``): without compaction, each secret's pre-rotation ciphertext
stays on disk, readable by whoever later gets the old key.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .harness import wait_until
from .secrets_support import Setup, keys_in_status


def _rows_under(db: Path, key_name: str) -> int:
    prefix = f"k8s:enc:aescbc:v1:{key_name}:".encode()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("select value, old_value from kine").fetchall()
    return sum(1 for row in rows for v in row if v is not None and bytes(v).startswith(prefix))


def test_periodic_compaction_removes_the_old_key_from_history(tmp_path: Path) -> None:
    setup = Setup(tmp_path, ["--secrets-encryption", "--compaction-interval", "0.5"])
    try:
        setup.add(6, tag="c")
        assert _rows_under(setup.db, "aescbckey") >= 6
        setup.cli.ok("rotate-keys")
        active, _ = keys_in_status(setup.cli.wait_stage("reencrypt_finished"))
        assert active.startswith("aescbckey-")
        setup.check(active)
        # two ticks after the pass: the history before it is compacted away
        wait_until(lambda: _rows_under(setup.db, "aescbckey") == 0, timeout=30)
        assert len(setup.check(active)) == 6
    finally:
        setup.stop()


def test_removing_the_old_key_compacts_history_at_once(tmp_path: Path) -> None:
    """The default interval (5 min): no periodic compaction happens in this test's time,
    so only the compaction that follows the key removal can empty the history."""
    setup = Setup(tmp_path, ["--secrets-encryption"])
    try:
        setup.add(6, tag="d")
        assert _rows_under(setup.db, "aescbckey") >= 6
        setup.cli.ok("rotate-keys")
        active, _ = keys_in_status(setup.cli.wait_stage("reencrypt_finished"))
        assert active.startswith("aescbckey-")
        wait_until(lambda: _rows_under(setup.db, "aescbckey") == 0, timeout=30)
        assert "compacting the datastore's history" in setup.server.log()
        assert len(setup.check(active)) == 6
    finally:
        setup.stop()
