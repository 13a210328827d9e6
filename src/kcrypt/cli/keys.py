"""``kcrypt keys export --to FILE`` / ``kcrypt keys import FILE``: every key, kept apart.

``export`` gathers every key this server knows (:func:`kcrypt.snapshot.known_keys`):
its config, the token-sealed state in its datastore, its imported keyring,
and the keys sealed in every snapshot in its snapshot directory -- so keys a
rotation retired long ago are in the bundle as long as a snapshot saw them.
The bundle is sealed with a passphrase (scrypt + AES-256-GCM). ``import``
adds a bundle's keys to ``<data-dir>/server/cred/keyring.json`` (0600), where
``--cluster-reset`` restores and ``snapshot-restore`` find them.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kcrypt.cli.local import Local, local_options
from kcrypt.cli.passphrase import bundle_passphrase
from kcrypt.errors import KcryptError

if TYPE_CHECKING:
    from kcrypt.snapshot import KeyRing

__all__ = ["keys"]


@click.group("keys", context_settings={"help_option_names": ["-h", "--help"]})
def keys() -> None:
    """Export and import key bundles (every key the cluster ever used)."""


async def _gather(local: Local, *, offline: bool) -> KeyRing:
    from kcrypt.snapshot import (
        KnownKey,
        keys_at_hand,
        keys_in_config,
        keys_in_rkestate,
        keys_in_sealed_state,
        known_keys,
        list_snapshots,
        read_keyring_file,
        read_manifest,
    )
    from kcrypt.snapshot.archive import RKESTATE, read_entry

    token = local.token()
    config = local.config()
    groups: list[list[KnownKey]] = []
    if not offline:
        ds = await local.open()
        try:
            groups.append(list(await keys_at_hand(ds, token=token, config=config)))
        finally:
            await ds.close()
    elif config:
        groups.append(keys_in_config(config, source="current config"))
    groups.append(read_keyring_file(local.keyring))
    for snap in reversed(list_snapshots(local.snapshots)):
        try:
            _, manifest = read_manifest(snap.path)
        except KcryptError as exc:
            click.echo(f"Warning: skipping snapshot {snap.name}: {exc}", err=True)
            continue
        sealed = manifest.contents.encryption_state
        source = f"snapshot {snap.name}"
        if sealed:
            groups.append(keys_in_sealed_state(sealed.encode(), token, source=source))
        if manifest.rkestate and (state := read_entry(snap.path, RKESTATE)):
            groups.append(keys_in_rkestate(state, source=source))
    return known_keys(*groups)


@keys.command("export")
@local_options
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle file to write (0600).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the passphrase [env: KCRYPT_BUNDLE_PASSPHRASE; else asked].",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Do not read the datastore (config, keyring and snapshots only).",
)
def export(*, local: Local, target: Path, passphrase_file: Path | None, offline: bool) -> None:
    """Write every key known to a passphrase-sealed bundle."""
    from kcrypt.snapshot import write_bundle

    try:
        ring = asyncio.run(_gather(local, offline=offline))
        if not len(ring):
            raise KcryptError("no keys found to export")
        count = write_bundle(target, ring, bundle_passphrase(passphrase_file, confirm=True))
    except KcryptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    for k in ring:
        click.echo(f"{k.provider}\t{k.name}\t{k.fingerprint}\t{k.source}")
    click.echo(f"{count} keys exported to {target}")


@keys.command("import")
@local_options
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the passphrase [env: KCRYPT_BUNDLE_PASSPHRASE; else asked].",
)
def import_(*, local: Local, bundle: Path, passphrase_file: Path | None) -> None:
    """Add a bundle's keys to this server's keyring (used by restores)."""
    from kcrypt.snapshot import known_keys, read_bundle, read_keyring_file, write_keyring_file

    try:
        found = read_bundle(bundle, bundle_passphrase(passphrase_file, confirm=False))
        before = read_keyring_file(local.keyring)
        merged = known_keys(before, found)
        write_keyring_file(local.keyring, merged)
    except KcryptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"{len(merged) - len(before)} keys imported into {local.keyring} ({len(merged)} known)"
    )
