"""The admin token: generated once, kept, and a different --token refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kcrypt.server.errors import InvalidSettings, TokenMismatch
from kcrypt.server.token import ensure_token, read_token_file


def test_first_start_generates_a_token_stored_0600_and_later_starts_reuse_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "server" / "token"
    token = ensure_token(path, given=None)
    assert len(token) == 64 and int(token, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_token(path, given=None) == token
    assert ensure_token(path, given=token) == token


def test_a_given_token_is_stored_on_first_start(tmp_path: Path) -> None:
    path = tmp_path / "token"
    assert ensure_token(path, given="my-token-0123456789") == "my-token-0123456789"
    assert ensure_token(path, given=None) == "my-token-0123456789"


def test_a_different_given_token_is_a_clear_error_without_either_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    ensure_token(path, given="first-token-0123456789")
    with pytest.raises(TokenMismatch) as err:
        ensure_token(path, given="second-token-0123456789")
    assert str(path) in str(err.value)
    assert "first-token" not in str(err.value) and "second-token" not in str(err.value)


def test_a_short_token_is_refused_saying_why(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings) as err:
        ensure_token(tmp_path / "token", given="fifteen-chars-x")
    assert "at least 16 characters (got 15)" in str(err.value)
    assert "fifteen-chars-x" not in str(err.value)
    assert not (tmp_path / "token").exists()


def test_a_token_file_keeps_the_token_out_of_ps(tmp_path: Path) -> None:
    path = tmp_path / "token-file"
    path.write_text("from-a-file-0123456789\n")
    assert read_token_file(path) == "from-a-file-0123456789"
    with pytest.raises(InvalidSettings, match="empty"):
        (tmp_path / "empty").write_text("\n")
        read_token_file(tmp_path / "empty")
    with pytest.raises(InvalidSettings, match="no such file"):
        read_token_file(tmp_path / "missing")


@pytest.mark.parametrize("bad", ["", "   ", "two words"])
def test_an_unusable_given_token_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidSettings):
        ensure_token(tmp_path / "token", given=bad)
