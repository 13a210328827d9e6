"""The rewrite's progress display: a rich bar on a terminal, short log lines elsewhere."""

from __future__ import annotations

import pytest

from kcrypt.cli.rewrite_progress import RewriteView
from kcrypt.rke import RewriteProgress


def progress(done: int, total: int = 100) -> RewriteProgress:
    return RewriteProgress(
        resource="secrets",
        total=total,
        done=done,
        rewritten=done,
        unchanged=0,
        conflicts=0,
        missing=0,
        elapsed=2.0,
    )


def test_log_lines_are_few_and_end_with_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    with RewriteView(tty=False) as view:
        for done in range(0, 101, 10):
            view(progress(done))
        view(progress(100))  # the same state twice: one line
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("[rewrite] secrets: 0/100 objects")
    assert lines[-1] == (
        "[rewrite] secrets: 100/100 objects (100 rewritten, 0 conflicts, 0 deleted) 50/s"
    )
    assert len(lines) == 2


def test_terminal_bar_shows_the_known_total(capsys: pytest.CaptureFixture[str]) -> None:
    with RewriteView(tty=True) as view:
        view(progress(40))
        view(progress(100))
    err = capsys.readouterr().err
    assert "100/100" in err and "[rewrite] secrets" in err
