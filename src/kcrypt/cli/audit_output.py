"""How ``kcrypt audit`` and ``kcrypt decrypt`` print: a rich table, progress, YAML/JSON objects."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from kcrypt.audit import Decrypted, Report

__all__ = ["print_objects", "progress", "render_report"]


@contextmanager
def progress() -> Iterator[Any]:
    """A progress callback: a rich bar on a TTY (stderr), nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("auditing values", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def render_report(report: Report) -> None:
    console = Console(soft_wrap=True)
    table = Table(title=f"{report.source} at revision {report.revision}")
    for column in (
        "Resource",
        "Provider",
        "Key",
        "Write",
        "Values",
        "Stale",
        "Plaintext",
        "Unreadable",
        "Old revisions",
    ):
        table.add_column(column, justify="right" if column[0] in "VSPUO" else "left")
    for r in report.rows:
        table.add_row(
            r.resource,
            r.provider,
            r.key or "-",
            "*" if r.write else "",
            str(r.count),
            str(r.stale),
            str(r.plaintext),
            str(r.undecryptable),
            f"{r.history_old}/{r.history}",
        )
    console.print(table)
    for r in report.rows:
        for reason, n in r.reasons.items():
            console.print(f"  {r.resource} {r.provider}:{r.key or '-'}: {n} unreadable: {reason}")
    t = report.totals()
    summary = (
        f"{report.values} values and {report.history_values} older revisions in "
        f"{report.elapsed:.2f}s: {t['stale']} stale, {t['plaintext']} plaintext, "
        f"{t['undecryptable']} unreadable, {t['history_old']} old revisions with old "
        "ciphertexts or plaintext"
    )
    console.print(summary if report.left else summary + " -- every value is under its write key")


def print_objects(items: Sequence[Decrypted], *, output: str, single: bool) -> int:
    """Print the objects; each failure on stderr. Returns how many failed."""
    failed = [d for d in items if d.object is None]
    for d in failed:
        click.echo(f"Error: {d.key}: {d.error}", err=True)
    objects = [d.object for d in items if d.object is not None]
    doc: Any = (
        objects[0]
        if single and len(objects) == 1
        else {
            "apiVersion": "v1",
            "kind": "List",
            "items": objects,
        }
    )
    if objects:
        if output == "json":
            click.echo(json.dumps(doc, indent=2))
        else:
            click.echo(yaml.safe_dump(doc, sort_keys=False), nl=False)
    return len(failed)
