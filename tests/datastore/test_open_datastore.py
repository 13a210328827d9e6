"""open_datastore: schemes, and no credentials in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcrypt.datastore import InvalidEndpoint, open_datastore, redact


async def test_unknown_schemes_are_refused_without_credentials() -> None:
    with pytest.raises(InvalidEndpoint) as info:
        await open_datastore("postgres://admin:hunter2@db:5432/kine?sslmode=off")
    message = str(info.value)
    assert "postgres://db:5432/kine" in message and "sqlite://" in message
    assert "hunter2" not in message and "admin" not in message


def test_redact_drops_user_password_and_query() -> None:
    assert redact("etcds://u:p@h1:2379,u:p@h2:2379?token=x") == "etcds://h1:2379,h2:2379"
    assert redact("sqlite:///var/lib/state.db") == "sqlite:///var/lib/state.db"


async def test_relative_and_absolute_sqlite_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ds = await open_datastore("sqlite://data/state.db")
    assert ds.endpoint == f"sqlite://{tmp_path}/data/state.db"
    await ds.close()
    ds = await open_datastore(f"sqlite://{tmp_path}/data/state.db")
    assert (tmp_path / "data" / "state.db").is_file()
    await ds.close()


async def test_memory_endpoints_are_fresh() -> None:
    first = await open_datastore("memory://")
    await first.create("/a", b"1")
    second = await open_datastore("memory://")
    assert await second.get("/a") is None
    await first.close()
    await second.close()
