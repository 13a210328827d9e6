"""``kcrypt rewrite``: rewrite resources through the Kubernetes API of any cluster.

The same pass ``kcrypt up`` runs, on its own: after an operator changed an
API server's encryption config by hand (new write key, identity first, a new
KMS key), this moves every stored value to the current write key. It works
against kube-apiserver and kcrypt alike, with only a kubeconfig; ``--checkpoint``
makes it resumable after an interruption.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kcrypt.errors import KcryptError

if TYPE_CHECKING:
    from kcrypt.cli.rewrite_progress import RewriteView
    from kcrypt.rke import RewriteResult

__all__ = ["rewrite"]


@click.command("rewrite", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--kubeconfig",
    envvar="KUBECONFIG",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Kubeconfig of the cluster. [env: KUBECONFIG]",
)
@click.option("--context", help="Kubeconfig context (default: its current context).")
@click.option(
    "--resources",
    default="secrets",
    show_default=True,
    help="Comma-separated resources as in an EncryptionConfiguration: secrets, configmaps, "
    "deployments.apps, *.apps, '*.' (core), '*.*' (all).",
)
@click.option("--page-size", type=click.IntRange(1, 10000), default=500, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Objects per second at most (0: no limit).",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Resume file: an interrupted pass started again with the same file goes on "
    "where it stopped.",
)
def rewrite(
    *,
    kubeconfig: Path,
    context: str | None,
    resources: str,
    page_size: int,
    concurrency: int,
    rate_limit: float,
    checkpoint: Path | None,
) -> None:
    """Rewrite every object of the given resources so each is stored under the API
    server's current write key."""
    from kcrypt.cli.rewrite_progress import RewriteView

    rules = [r.strip() for r in resources.split(",") if r.strip()]
    try:
        with RewriteView() as view:
            result = asyncio.run(
                _rewrite(
                    kubeconfig,
                    context=context,
                    rules=rules,
                    page_size=page_size,
                    concurrency=concurrency,
                    rate_limit=rate_limit,
                    checkpoint=checkpoint,
                    view=view,
                )
            )
    except KcryptError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        hint = " with the same --checkpoint to resume" if checkpoint else ""
        click.echo(f"Error: interrupted; run the command again{hint}", err=True)
        sys.exit(130)
    click.echo(
        f"rewrote {', '.join(result.resources) or 'nothing'}: {result.done} objects examined, "
        f"{result.rewritten} rewritten, {result.unchanged} already current, "
        f"{result.conflicts} conflicts, {result.missing} deleted meanwhile, "
        f"in {result.elapsed:.1f}s"
    )


async def _rewrite(
    kubeconfig: Path,
    *,
    context: str | None,
    rules: list[str],
    page_size: int,
    concurrency: int,
    rate_limit: float,
    checkpoint: Path | None,
    view: RewriteView,
) -> RewriteResult:
    from kcrypt.rke.checkpoint import Checkpoint
    from kcrypt.rke.discovery import resolve_rules
    from kcrypt.rke.kube import async_client, load_kubeconfig
    from kcrypt.rke.rewrite import RewriteSettings
    from kcrypt.rke.rewrite import rewrite as run

    access = load_kubeconfig(kubeconfig, context=context)
    ident = "rewrite:" + ",".join(rules)
    point = (
        Checkpoint.open(checkpoint, id=ident)
        if checkpoint
        else Checkpoint(None, secrets.token_hex(4))
    )
    async with async_client(access, connections=1) as client:
        refs = await resolve_rules(client, rules)
    if not refs:
        raise KcryptError(f"the API server serves none of: {', '.join(rules)}")
    result = await run(
        access,
        refs,
        settings=RewriteSettings(
            page_size=page_size, concurrency=concurrency, rate_limit=rate_limit
        ),
        checkpoint=point,
        on_progress=view,
    )
    point.remove()
    return result
