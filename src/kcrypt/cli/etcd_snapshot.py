"""``kcrypt etcd-snapshot save|ls|delete|prune``: k3s's snapshot commands, for both datastores.

``save`` takes a consistent snapshot while the server keeps serving writes
(SQLite: the online backup API; etcd: the Maintenance Snapshot stream) and
prints k3s's ``Snapshot <name> saved.``; ``ls`` prints k3s's columns
``Name Location Size Created``; ``delete`` and ``prune`` follow k3s's rules.
Restore with ``kcrypt server --cluster-reset --cluster-reset-restore-path``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

import click
import yaml

from kcrypt.cli.local import Local, local_options
from kcrypt.errors import KcryptError

if TYPE_CHECKING:
    from kcrypt.snapshot import Saved

__all__ = ["etcd_snapshot"]


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


@click.group("etcd-snapshot", context_settings={"help_option_names": ["-h", "--help"]})
def etcd_snapshot() -> None:
    """Manage snapshots of the datastore (SQLite or etcd) with their key manifest."""


async def _save(local: Local, name: str) -> Saved:
    from kcrypt.snapshot import clean_partial, keys_at_hand, prepare_dir, save_snapshot

    directory = prepare_dir(local.snapshots, default=local.snapshot_dir is None)
    clean_partial(directory)
    ds = await local.open()
    try:
        keys = await keys_at_hand(ds, token=local.token(), config=local.config())
        return await save_snapshot(
            ds,
            directory=directory,
            name=name,
            node=local.node_name,
            reason="on-demand",
            keys=keys,
        )
    finally:
        await ds.close()


@etcd_snapshot.command("save")
@local_options
@click.option(
    "--name",
    default="on-demand",
    show_default=True,
    help="(db) Set the base name of the snapshot (appended with node and UNIX time).",
)
def save(*, local: Local, name: str) -> None:
    """Trigger an immediate snapshot."""
    try:
        saved = asyncio.run(_save(local, name))
    except KcryptError as exc:
        _fail(exc)
        return
    missing = [k for k in saved.keys if k.fingerprint == "unknown"]
    for k in missing:
        click.echo(
            f"Warning: {k.values} values are under {k.provider} key {k.name!r}, which no "
            "config or sealed state at hand holds: keep that key in a bundle",
            err=True,
        )
    click.echo(f"Snapshot {saved.name} saved.")


@etcd_snapshot.command("ls")
@local_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(["standard", "json", "yaml"]),
    default="standard",
    help="(db) List format.",
)
def ls(*, local: Local, output: str) -> None:
    """List snapshots."""
    from kcrypt.snapshot import list_snapshots

    snaps = list_snapshots(local.snapshots)
    rows = [
        {"name": s.name, "location": s.location, "size": s.size, "created": _rfc3339(s.created)}
        for s in snaps
    ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(rows, sort_keys=False), nl=False)
    else:
        table: list[list[str]] = [["Name", "Location", "Size", "Created"]]
        table += [[s.name, s.location, str(s.size), _rfc3339(s.created)] for s in snaps]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        for row in table:
            click.echo(" ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _rfc3339(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@etcd_snapshot.command("delete")
@local_options
@click.argument("names", nargs=-1)
def delete(*, local: Local, names: tuple[str, ...]) -> None:
    """Delete given snapshot(s)."""
    from kcrypt.snapshot import delete_snapshot

    if not names:
        _fail(KcryptError("no snapshots given for removal"))
    for name in names:
        try:
            snap = delete_snapshot(local.snapshots, name)
        except KcryptError as exc:
            _fail(exc)
            return
        click.echo(f"Snapshot {snap.name} deleted.")


@etcd_snapshot.command("prune")
@local_options
@click.option(
    "--name",
    default="on-demand",
    show_default=True,
    help="(db) Name prefix of the snapshots to prune.",
)
@click.option(
    "--snapshot-retention",
    "--etcd-snapshot-retention",
    "retention",
    type=int,
    default=5,
    show_default=True,
    help="(db) Number of snapshots to retain.",
)
def prune_cmd(*, local: Local, name: str, retention: int) -> None:
    """Remove snapshots that match the name prefix that exceed the configured retention count."""
    from kcrypt.snapshot import prune

    for snap in prune(local.snapshots, name, retention):
        click.echo(f"Snapshot {snap.name} deleted.")
