"""Private files: atomic, 0600, no temp files left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kcrypt.files import write_atomic


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


def test_a_failed_rename_leaves_no_temp_file_and_the_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "encryption-config.json"
    target.mkdir()  # os.replace(file, directory) fails
    with pytest.raises(OSError):
        write_atomic(target, b'{"keys": 1}')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encryption-config.json"]
    assert target.is_dir()


def test_a_planted_symlink_in_place_of_the_directory_entry_is_replaced_not_followed(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    target = tmp_path / "key"
    target.symlink_to(victim)
    write_atomic(target, b"new")
    assert victim.read_bytes() == b"untouched"
    assert not target.is_symlink()
    assert target.read_bytes() == b"new"


def test_kcrypt_has_one_atomic_writer() -> None:
    """Every layer writes keys through kcrypt.files: no other module renames files into place."""
    src = Path(__file__).resolve().parents[1] / "src" / "kcrypt"
    renaming = sorted(
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "os.replace(" in p.read_text() or "os.rename(" in p.read_text()
    )
    assert renaming == ["files.py"]


def test_a_streamed_write_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    from kcrypt.files import atomic_writer

    target = tmp_path / "snap.zip"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as out:
        out.write(b"partial" * 1000)
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.zip"]
    with atomic_writer(target) as out:
        out.write(b"new")
        out.seek(0)
        out.write(b"N")
    assert target.read_bytes() == b"New"
    assert mode_of(target) == 0o600
