"""Private files: atomic, 0600, no temp files left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kcrypt.server.files import write_atomic


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_written_0600_in_a_new_private_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "key"
    write_atomic(target, b"secret")
    assert target.read_bytes() == b"secret"
    assert mode_of(target) == 0o600
    assert mode_of(target.parent) == 0o700


def test_replacing_keeps_the_asked_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "kubeconfig"
    target.write_bytes(b"old")
    os.chmod(target, 0o666)
    write_atomic(target, b"new", mode=0o640)
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubeconfig"]


def test_the_umask_does_not_narrow_or_widen_the_mode(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "f", b"x", mode=0o644)
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "f") == 0o644


def test_a_failed_write_leaves_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"old")

    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
