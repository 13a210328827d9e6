"""``kcrypt etcd snapshot-save|snapshot-restore``: RKE's commands, the state file in the archive.

``--config`` names the cluster.yml (``services.etcd.external_urls`` and its
TLS fields say where the datastore is); the state file is
``<cluster>.rkestate`` beside it. Snapshots go to ``--snapshot-dir``
(default ``etcd-snapshots`` beside cluster.yml; RKE keeps
``/opt/rke/etcd-snapshots`` on each etcd host).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import click

from kcrypt.cli.passphrase import bundle_passphrase
from kcrypt.errors import KcryptError

__all__ = ["etcd"]


@click.group("etcd", context_settings={"help_option_names": ["-h", "--help"]})
def etcd() -> None:
    """RKE-style etcd snapshots that carry the cluster state file."""


_config = click.option(
    "--config",
    "config_file",
    envvar="KCRYPT_CONFIG",
    default="cluster.yml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Specify an alternate cluster YAML file",
)
_name = click.option("--name", default="", help="Specify snapshot name")
_dir = click.option(
    "--snapshot-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where snapshots are kept (default: etcd-snapshots beside cluster.yml)",
)
_node = click.option("--node-name", envvar="KCRYPT_NODE_NAME", help="Recorded in the manifest.")


def _directory(config_file: Path, given: Path | None) -> Path:
    return (given or config_file.absolute().parent / "etcd-snapshots").absolute()


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


@etcd.command("snapshot-save")
@_config
@_name
@_dir
@_node
def snapshot_save(
    config_file: Path, name: str, snapshot_dir: Path | None, node_name: str | None
) -> None:
    """Take snapshot on all etcd hosts"""
    from kcrypt.snapshot.directory import prepare_dir
    from kcrypt.snapshot.rke import default_rke_name, rke_save
    from kcrypt.snapshot.rkecluster import read_cluster

    _logging()
    try:
        cluster = read_cluster(config_file)
        directory = prepare_dir(_directory(config_file, snapshot_dir), default=True)
        saved = asyncio.run(
            rke_save(
                cluster,
                name=name or default_rke_name(time.time()),
                directory=directory,
                node=node_name or os.uname().nodename,
            )
        )
    except KcryptError as exc:
        _fail(exc)
        return
    click.echo(f"Snapshot {saved.name} saved to {saved.path}")


@etcd.command("snapshot-restore")
@_config
@_name
@_dir
@_node
@click.option(
    "--use-local-state",
    is_flag=True,
    help="Use local state file (do not check or use snapshot archive for state file)",
)
@click.option(
    "--key-bundle",
    "key_bundles",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A key bundle whose keys the restore may use; repeatable.",
)
@click.option("--key-bundle-passphrase-file", type=click.Path(dir_okay=False, path_type=Path))
def snapshot_restore(
    config_file: Path,
    name: str,
    snapshot_dir: Path | None,
    node_name: str | None,
    use_local_state: bool,
    key_bundles: tuple[Path, ...],
    key_bundle_passphrase_file: Path | None,
) -> None:
    """Restore existing snapshot"""
    from kcrypt.snapshot import known_keys, read_bundle
    from kcrypt.snapshot.rke import rke_restore
    from kcrypt.snapshot.rkecluster import read_cluster

    _logging()
    try:
        cluster = read_cluster(config_file)
        passphrase = (
            bundle_passphrase(key_bundle_passphrase_file, confirm=False) if key_bundles else ""
        )
        keys = known_keys(*(read_bundle(b, passphrase) for b in key_bundles))
        result = asyncio.run(
            rke_restore(
                cluster,
                name=name,
                directory=_directory(config_file, snapshot_dir),
                node=node_name or os.uname().nodename,
                keys=keys,
                use_local_state=use_local_state,
            )
        )
    except KcryptError as exc:
        _fail(exc)
        return
    r = result.restored
    click.echo(
        f"Snapshot {r.snapshot} restored ({r.values} values); state written to {result.state_file}"
    )
    if r.read_only:
        click.echo(f"Keys added read-only for the restored data: {', '.join(r.read_only)}")
    click.echo(
        "Run 'kcrypt up' to deploy the restored encryption configuration to the API servers."
    )


def _logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
