"""The admin token: generated once, kept, and a different --token refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kcrypt.server.errors import InvalidSettings, TokenMismatch
from kcrypt.server.token import ensure_token


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
    assert ensure_token(path, given="my-token") == "my-token"
    assert ensure_token(path, given=None) == "my-token"


def test_a_different_given_token_is_a_clear_error_without_either_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    ensure_token(path, given="first-token")
    with pytest.raises(TokenMismatch) as err:
        ensure_token(path, given="second-token")
    assert str(path) in str(err.value)
    assert "first-token" not in str(err.value) and "second-token" not in str(err.value)


@pytest.mark.parametrize("bad", ["", "   ", "two words"])
def test_an_unusable_given_token_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidSettings):
        ensure_token(tmp_path / "token", given=bad)
