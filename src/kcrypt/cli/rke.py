"""``kcrypt up`` and ``kcrypt encrypt rotate-key``: RKE's commands on cluster.yml.

Help text has RKE's (urfave/cli) shape -- NAME, USAGE, OPTIONS -- so the
commands read the way RKE's documentation shows them, with kcrypt's name and
``KCRYPT_CONFIG`` in place of ``RKE_CONFIG``. ``--ignore-docker-version`` is
accepted for scripts written for RKE and does nothing (kcrypt runs no Docker).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kcrypt.errors import KcryptError

__all__ = ["RkeStyleCommand", "encrypt", "up"]


class RkeStyleCommand(click.Command):
    """A click command whose ``--help`` is laid out like urfave/cli's."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        path = ctx.command_path
        rows = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option) or param.hidden or "--help" in param.opts:
                continue
            flag = max(param.opts, key=len)
            if not param.is_flag:
                flag += " value"
            rows.append((flag, param.help or ""))
        width = max(len(f) for f, _ in rows) + 2
        lines = [
            "NAME:",
            f"   {path} - {self.short_help or self.help or ''}".rstrip(),
            "",
            "USAGE:",
            f"   {path} [command options] [arguments...]",
            "",
            "OPTIONS:",
            *(f"   {f.ljust(width)}{h}".rstrip() for f, h in rows),
        ]
        formatter.write("\n".join(lines) + "\n")


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--state-passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Seal cluster.rkestate with the passphrase in this file "
        "[$KCRYPT_STATE_PASSPHRASE holds it directly]",
    )(f)
    f = click.option("--ignore-docker-version", is_flag=True, help="Disable Docker version check")(
        f
    )
    f = click.option(
        "--ssh-agent-auth", is_flag=True, help="Use SSH Agent Auth defined by SSH_AUTH_SOCK"
    )(f)
    f = click.option(
        "--config",
        envvar="KCRYPT_CONFIG",
        default="cluster.yml",
        type=click.Path(dir_okay=False, path_type=Path),
        help='Specify an alternate cluster YAML file (default: "cluster.yml") [$KCRYPT_CONFIG]',
    )(f)
    return f


@click.command(
    "up",
    cls=RkeStyleCommand,
    short_help="Apply cluster.yml's secrets encryption to every controlplane node",
    help="Apply cluster.yml's secrets encryption to every controlplane node",
)
@_options
@click.option("--dry-run", is_flag=True, help="Show the plan; write and deploy nothing")
def up(
    *,
    config: Path,
    ssh_agent_auth: bool,
    ignore_docker_version: bool,
    state_passphrase_file: Path | None,
    dry_run: bool,
) -> None:
    """Bring every controlplane API server to cluster.yml's secrets encryption."""
    _run(config, ssh_agent_auth, state_passphrase_file, rotate=False, dry_run=dry_run)


@click.group("encrypt", short_help="Manage cluster encryption provider keys")
def encrypt() -> None:
    """Manage cluster encryption provider keys."""


@encrypt.command(
    "rotate-key",
    cls=RkeStyleCommand,
    short_help="Rotate cluster encryption provider key",
    help="Rotate cluster encryption provider key",
)
@_options
def rotate_key(
    *,
    config: Path,
    ssh_agent_auth: bool,
    ignore_docker_version: bool,
    state_passphrase_file: Path | None,
) -> None:
    """Rotate cluster encryption provider key."""
    _run(config, ssh_agent_auth, state_passphrase_file, rotate=True, dry_run=False)


def _run(
    config: Path,
    ssh_agent_auth: bool,
    passphrase_file: Path | None,
    *,
    rotate: bool,
    dry_run: bool,
) -> None:
    from kcrypt.cli.rewrite_progress import RewriteView
    from kcrypt.rke import UpOptions, load_cluster_file, run_up

    try:
        passphrase = _passphrase(passphrase_file)
        spec = load_cluster_file(config.absolute(), ssh_agent_auth=ssh_agent_auth)
        if rotate:
            click.echo("Rotating cluster secrets encryption key")
        with RewriteView() as view:
            result = run_up(
                spec,
                UpOptions(rotate=rotate, dry_run=dry_run, passphrase=passphrase),
                out=click.echo,
                on_progress=view,
            )
        if rotate and result.changed:
            click.echo("Cluster secrets encryption key rotated successfully")
    except KcryptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Error: interrupted; run the command again to resume", err=True)
        sys.exit(130)


def _passphrase(path: Path | None) -> str | None:
    if path is not None:
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise click.BadParameter(f"can not read {path}: {exc.strerror}") from None
        if not text:
            raise click.BadParameter(f"{path} is empty")
        return text
    return os.environ.get("KCRYPT_STATE_PASSPHRASE") or None
