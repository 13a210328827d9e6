"""Where a key bundle's passphrase comes from: a file, KCRYPT_BUNDLE_PASSPHRASE, or a prompt."""

from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["ENV", "bundle_passphrase"]

ENV = "KCRYPT_BUNDLE_PASSPHRASE"


def bundle_passphrase(path: Path | None, *, confirm: bool) -> str:
    """The file's first line, else the environment, else asked on the terminal (hidden)."""
    if path is not None:
        try:
            text = path.read_text().splitlines()
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
        if not text or not text[0]:
            raise click.ClickException(f"{path} holds no passphrase")
        return text[0]
    if os.environ.get(ENV):
        return os.environ[ENV]
    value: str = click.prompt(
        "Key bundle passphrase", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return value
