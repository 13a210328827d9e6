"""``kcrypt secrets-encrypt``: k3s's subcommands, flags and success lines.

Each command sends k3s's ``EncryptionRequest`` to ``PUT /v1-kcrypt/encrypt/config``
(``status`` reads ``GET /v1-kcrypt/encrypt/status``) and prints k3s's
output. ``enable``, ``disable`` and ``rotate-keys`` wait for the server's
re-encryption pass (k3s runs it inside the request); ``reencrypt --wait``
does too. Waiting shows a rich progress bar on a TTY and a log line per poll
otherwise. ``--dry-run`` prints the config a command would write, keys
redacted, and changes nothing.

With several servers on one datastore every stage command then waits,
bounded by ``--timeout`` (60 s), until every live server has applied the
cluster's new config, showing how many have; a server that does not in time
is named in the error (the change itself is saved and will still be
applied: ``status`` shows where each server stands).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["secrets_encrypt"]

POLL_SECONDS = 0.5
LONG_POLL_SECONDS = 5.0
"""How long one progress request may wait for a change (well inside the client timeout)."""
DEFAULT_SETTLE_TIMEOUT = 60.0


def _default_data_dir() -> Path:
    from kcrypt.server.settings import default_data_dir

    return default_data_dir()


class _Ctx:
    def __init__(self, data_dir: Path | None, token: str | None, server: str | None) -> None:
        self.data_dir, self.token, self.server = data_dir, token, server

    def client(self) -> Any:
        from kcrypt.cli.client import SupervisorClient, connection_settings

        data_dir = self.data_dir or _default_data_dir()
        return SupervisorClient(connection_settings(data_dir, token=self.token, server=self.server))


def _shared(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--server",
        "-s",
        envvar="KCRYPT_URL",
        default=None,
        help="(cluster) Server to connect to (default: the URL the server of --data-dir "
        "recorded, else https://127.0.0.1:6443)",
    )(f)
    f = click.option(
        "--token",
        "-t",
        envvar="KCRYPT_TOKEN",
        default=None,
        help="(cluster) Shared secret used to authenticate to the server "
        "(default: <data-dir>/server/token)",
    )(f)
    f = click.option(
        "--data-dir",
        "-d",
        envvar="KCRYPT_DATA_DIR",
        default=None,
        type=click.Path(path_type=Path, file_okay=False),
        help="(data) Folder to hold state (default /var/lib/kcrypt, or ~/.kcrypt if not root)",
    )(f)
    return f


def _ctx(data_dir: Path | None, token: str | None, server: str | None) -> _Ctx:
    return _Ctx(data_dir, token, server)


def _send(
    ctx: _Ctx,
    command: str,
    *,
    force: bool = False,
    skip: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    done: str = "",
    timeout: float = DEFAULT_SETTLE_TIMEOUT,
) -> None:
    from kcrypt.encryption.stages import Command, request_body

    body = request_body(Command(command), force=force, skip=skip, dry_run=dry_run)
    with ctx.client() as client:
        result = client.apply(dict(body))
        if dry_run:
            click.echo(_dry_run_line(command, result))
            click.echo(result.get("config", ""))
            return
        if result.get("note"):  # what the server did differently (e.g. a KMS-first config)
            click.echo(str(result["note"]))
        if wait and "generation" in result:
            _wait(client, generation=int(result["generation"]))
        _settle(client, timeout=timeout)
    click.echo(done)


def _dry_run_line(command: str, result: dict[str, Any]) -> str:
    current, stage = result.get("currentStage"), result.get("stage")
    line = f"# {command}: " + (
        f"stage stays {stage}" if stage == current else f"stage would become {stage}"
    )
    return line + (", then every secret is re-encrypted" if result.get("reencrypt") else "")


def _settle(client: Any, *, timeout: float) -> None:
    """Wait until every live server applied the cluster's config (HA; bounded)."""
    deadline = time.monotonic() + timeout
    last_log = 0.0
    while True:
        revision = _revision(client)  # read before the status: a change after it wakes us
        doc = client.status()
        servers = doc.get("servers") or []
        live = [s for s in servers if s.get("state") == "live"]
        lagging = [str(s.get("name")) for s in live if not s.get("applied")]
        if not lagging:
            return
        text = (
            f"waiting for servers to apply config {str(doc.get('configHash', ''))[:12]}: "
            f"{len(live) - len(lagging)}/{len(live)} live servers applied "
            f"(waiting for {', '.join(lagging)})"
        )
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"servers did not apply the new config within {timeout:g}s: "
                f"{', '.join(lagging)} (the change is saved; see 'secrets-encrypt status')"
            )
        if time.monotonic() - last_log >= 2.0:
            last_log = time.monotonic()
            click.echo(text, err=True)
        if revision:  # until a server's record (or the state) changes, or the deadline
            left = max(deadline - time.monotonic(), 0.0)
            client.progress(after=revision, wait=min(LONG_POLL_SECONDS, left))
        else:
            time.sleep(POLL_SECONDS)


def _revision(client: Any) -> int:
    """The datastore revision the server's progress is at; 0 where it has none to
    give (a server run with --encryption-provider-config, or an older one)."""
    from kcrypt.cli.client import SupervisorError

    try:
        return int(client.progress().get("revision", 0))
    except SupervisorError:
        return 0


def _wait(client: Any, *, generation: int) -> None:
    """Until the job the command at ``generation`` started has ended (the pass, the
    proof, the key removal, the compaction); its error if it stopped on one.
    Progress: a rich bar on a TTY, a line every 2 s otherwise, the final counts last."""
    from kcrypt.encryption.status import progress_line

    bar = _Bar() if sys.stdout.isatty() else None
    last_log, delay, revision = 0.0, 0.05, 0
    try:
        while True:
            # Long-poll: the server answers as soon as the state or the pass moved on
            # after ``revision``; a server without it answers at once, and is polled.
            doc = client.progress(after=revision, wait=LONG_POLL_SECONDS)
            job, done_pass = doc.get("job"), doc.get("pass") or {}
            if job is not None and job.get("error"):
                raise click.ClickException(f"reencryption stopped: {job['error']}")
            current = done_pass if job and done_pass.get("configHash") == job["configHash"] else {}
            if bar is not None and current:
                bar.show(current)
            elif current and time.monotonic() - last_log >= 2.0:
                last_log = time.monotonic()
                click.echo(progress_line(current), err=True)
            if job is None and int(doc.get("generation", 0)) > generation:
                break
            revision = int(doc.get("revision", 0))
            if not revision:
                time.sleep(delay)
                delay = min(delay * 1.5, POLL_SECONDS)
    finally:
        if bar is not None:
            bar.stop()
    if done_pass:
        click.echo(progress_line(done_pass), err=True)


class _Bar:
    """A rich progress bar, started on the first progress document."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def show(self, progress: dict[str, Any]) -> None:
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("re-encrypting"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}/s"),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("reencrypt", total=None, rate="0")
        self._bar.update(
            self._task,
            completed=progress.get("done", 0),
            total=progress.get("total") or None,
            rate=f"{float(progress.get('rate', 0)):.0f}",
        )

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@click.group("secrets-encrypt")
def secrets_encrypt() -> None:
    """Control secrets encryption and keys rotation"""


@secrets_encrypt.command()
@_shared
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Status format (valid values: text, json)",
)
def status(data_dir: Path | None, token: str | None, server: str | None, output: str) -> None:
    """Print current status of secrets encryption"""
    from kcrypt.encryption.status import render_json, render_text

    with _ctx(data_dir, token, server).client() as client:
        doc = client.status()
        snapshots = client.snapshot_status() if output != "json" else {}
    if output == "json":
        click.echo(render_json(doc))
    else:
        from kcrypt.snapshot.status import with_snapshot_lines

        click.echo(with_snapshot_lines(render_text(doc), snapshots), nl=False)


_dry = click.option(
    "--dry-run",
    is_flag=True,
    help="Print the config this would write (keys redacted); change nothing",
)
_force = click.option("--force", "-f", is_flag=True, help="Force this stage.")
_timeout = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_SETTLE_TIMEOUT,
    show_default=True,
    help="Seconds to wait for every live server to apply the new config",
)


def _stage_command(
    name: str, doc: str, *, done: str, force: bool = False, wait: bool = False
) -> click.Command:
    """A command that sends stage ``name`` and prints ``done``; with ``--force`` if
    ``force``; ``wait``: it returns only after the re-encryption pass it starts."""

    def command(
        data_dir: Path | None,
        token: str | None,
        server: str | None,
        dry_run: bool,
        timeout: float,
        force: bool = False,
    ) -> None:
        _send(
            _ctx(data_dir, token, server),
            name,
            force=force,
            dry_run=dry_run,
            timeout=timeout,
            wait=wait,
            done=done,
        )

    command.__doc__ = doc
    decorated = _dry(_timeout(command))
    if force:
        decorated = _force(decorated)
    return secrets_encrypt.command(name)(_shared(decorated))


enable = _stage_command(
    "enable", "Enable secrets encryption", wait=True, done="secrets-encryption enabled"
)
disable = _stage_command(
    "disable", "Disable secrets encryption", wait=True, done="secrets-encryption disabled"
)
prepare = _stage_command(
    "prepare",
    "Prepare for encryption keys rotation",
    force=True,
    done="prepare completed successfully",
)
rotate = _stage_command(
    "rotate", "Rotate secrets encryption keys", force=True, done="rotate completed successfully"
)
rotate_keys = _stage_command(
    "rotate-keys",
    "Dynamically rotates secrets encryption keys and re-encrypt secrets",
    wait=True,
    done="keys rotated, reencryption finished",
)


@secrets_encrypt.command()
@_shared
@_force
@click.option("--skip", is_flag=True, help="Skip removing old key")
@click.option("--wait", is_flag=True, help="Wait for the re-encryption to finish, showing progress")
@_dry
@_timeout
def reencrypt(
    data_dir: Path | None,
    token: str | None,
    server: str | None,
    force: bool,
    skip: bool,
    wait: bool,
    dry_run: bool,
    timeout: float,
) -> None:
    """Reencrypt all data with new encryption key"""
    _send(
        _ctx(data_dir, token, server),
        "reencrypt",
        force=force,
        skip=skip,
        dry_run=dry_run,
        timeout=timeout,
        wait=wait,
        done="reencryption finished" if wait else "reencryption started",
    )
