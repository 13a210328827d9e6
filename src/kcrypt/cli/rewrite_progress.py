"""How ``kcrypt up``, ``encrypt rotate-key`` and ``rewrite`` show a rewrite pass.

On a terminal: a rich progress bar with the known total, rate and time left.
Otherwise (CI, a log file): one line at most every few seconds and at the
end, so logs stay short and still say how far it got.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from kcrypt.rke import RewriteProgress

__all__ = ["RewriteView"]

LOG_EVERY_SECONDS = 5.0


class RewriteView:
    def __init__(self, *, tty: bool | None = None) -> None:
        self._tty = sys.stderr.isatty() if tty is None else tty
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_log = 0.0
        self._last_done = -1

    def __enter__(self) -> RewriteView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, p: RewriteProgress) -> None:
        if self._tty:
            self._bar(p)
            return
        now = time.monotonic()
        if p.done == self._last_done:
            return
        if now - self._last_log >= LOG_EVERY_SECONDS or p.done >= p.total:
            self._last_log, self._last_done = now, p.done
            click.echo(
                f"[rewrite] {p.resource}: {p.done}/{p.total} objects "
                f"({p.rewritten} rewritten, {p.conflicts} conflicts, {p.missing} deleted) "
                f"{p.rate:.0f}/s",
                err=True,
            )

    def _bar(self, p: RewriteProgress) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self._progress is None:
            self._progress = Progress(
                TextColumn("\\[rewrite] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.0f}/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._task = self._progress.add_task(p.resource, total=p.total, rate=0.0)
        assert self._task is not None
        self._progress.update(
            self._task, description=p.resource, completed=p.done, total=p.total, rate=p.rate
        )
