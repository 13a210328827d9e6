"""``kcrypt kms-plugin serve|rotate``: the reference KMS plugin (see docs/kms.md).

Backend options are shared by both commands: ``rotate`` works on the key
store directly (a new key on the token, or in the key file), and every
plugin serving that store reports the new key ID at its next ``Status``;
sending SIGHUP to a serving plugin does the same from inside it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kcrypt.errors import KcryptError

if TYPE_CHECKING:
    from kcrypt.kmsplugin import Backend

__all__ = ["kms_plugin"]

F = TypeVar("F", bound=Callable[..., Any])


def _backend_options(fn: F) -> F:
    options = [
        click.option(
            "--backend",
            type=click.Choice(["pkcs11", "keyfile"]),
            required=True,
            help="pkcs11: keys live on a PKCS#11 token (SoftHSM2, an HSM). "
            "keyfile: a 0600 file of keys, for development only.",
        ),
        click.option(
            "--pkcs11-module",
            default="/usr/lib/softhsm/libsofthsm2.so",
            show_default=True,
            help="The token's PKCS#11 library.",
        ),
        click.option("--token-label", help="pkcs11: the token's label."),
        click.option(
            "--pin-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="pkcs11: a file holding the user PIN (never pass PINs on the command line).",
        ),
        click.option(
            "--key-label",
            default="kcrypt-kek",
            show_default=True,
            help="Key IDs are <key-label>-<n>; the highest n is current.",
        ),
        click.option(
            "--key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="keyfile: the JSON key file (created 0600 with a first key if missing).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _open_backend(
    backend: str,
    pkcs11_module: str,
    token_label: str | None,
    pin_file: Path | None,
    key_label: str,
    key_file: Path | None,
) -> Backend:
    from kcrypt.kmsplugin import KeyfileBackend, PluginError

    if backend == "keyfile":
        if key_file is None:
            raise PluginError("--backend keyfile needs --key-file")
        return KeyfileBackend(key_file.absolute(), key_prefix=key_label)
    from kcrypt.kmsplugin.pkcs11_backend import PKCS11Backend, read_pin

    if not token_label or pin_file is None:
        raise PluginError("--backend pkcs11 needs --token-label and --pin-file")
    return PKCS11Backend(
        module=pkcs11_module,
        token_label=token_label,
        pin=read_pin(pin_file),
        key_label=key_label,
    )


@click.group("kms-plugin", context_settings={"help_option_names": ["-h", "--help"]})
def kms_plugin() -> None:
    """A reference KMS v2 (and v1) plugin for kcrypt server and kube-apiserver."""


@kms_plugin.command("serve")
@click.option(
    "--listen",
    required=True,
    help="The socket to serve on, as the EncryptionConfiguration's endpoint: unix:///path.",
)
@_backend_options
@click.option("--debug", is_flag=True, help="Log every call (method, uid, key ID; never data).")
def serve_cmd(listen: str, debug: bool, **backend: Any) -> None:
    """Serve KMS v2 and v1beta1 on one unix socket until SIGTERM (SIGHUP rotates)."""
    from kcrypt.cli.server import _setup_logging
    from kcrypt.kmsplugin import serve

    _setup_logging(debug=debug)
    try:
        opened = _open_backend(**backend)
        asyncio.run(serve(listen, opened))
    except KcryptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


@kms_plugin.command("rotate")
@_backend_options
def rotate_cmd(**backend: Any) -> None:
    """Make a new current key; plugins report its key ID at their next Status."""
    try:
        opened = _open_backend(**backend)
        key_id = opened.rotate()
    except KcryptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"new current key ID: {key_id}")
