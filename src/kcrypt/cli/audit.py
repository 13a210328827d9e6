"""``kcrypt audit`` and ``kcrypt decrypt``: which key protects every value, and reading them back.

Offline (``--datastore``) nothing but the datastore and a config is needed:
a SQLite file in kine's layout (kcrypt's or k3s's ``state.db``, opened
read-only) or etcd endpoints with client certificates. Online (no
``--datastore``) the server runs the same audit on its own datastore with its
live config (``GET /v1-kcrypt/audit``). The exit status is 1 when anything is
left -- a stale, plaintext or unreadable value, or an old revision holding an
old ciphertext -- so a cron job or CI can alert on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from kcrypt.cli.local import DATA_DIR_OPTION, ETCD_TLS_OPTIONS
from kcrypt.errors import KcryptError

if TYPE_CHECKING:
    from kcrypt.audit import AuditConfig, Report
    from kcrypt.datastore import Datastore

__all__ = ["audit", "decrypt"]


class ConfigSource(NamedTuple):
    data: bytes | None
    source: str


def _offline_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--datastore",
                "datastore",
                metavar="PATH|URL",
                help="Read this datastore offline: a SQLite file (kine's layout, e.g. k3s's "
                "state.db) or etcd endpoints (etcd://h:2379,... or https://h:2379 for TLS).",
            ),
            *ETCD_TLS_OPTIONS,
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="EncryptionConfiguration (YAML/JSON) or k3s encryption-config.json "
                "(default: <data-dir>/server/cred/encryption-config.json if it exists).",
            ),
            DATA_DIR_OPTION,
        ]
    ):
        f = option(f)
    return f


def _data_dir(given: Path | None) -> Path:
    from kcrypt.server.settings import default_data_dir

    return given or default_data_dir()


def _config(config_file: Path | None, data_dir: Path | None) -> ConfigSource:
    """The config's bytes and where they came from (no bytes: no config, all identity)."""
    from kcrypt.audit import AuditError

    path = config_file or _data_dir(data_dir) / "server" / "cred" / "encryption-config.json"
    if config_file is None and not path.is_file():
        return ConfigSource(None, "")
    try:
        return ConfigSource(path.read_bytes(), str(path))
    except OSError as exc:
        raise AuditError(f"cannot read {path}: {exc.strerror or exc}") from None


@asynccontextmanager
async def _offline(
    datastore: str,
    cafile: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    source: ConfigSource,
) -> AsyncIterator[tuple[Datastore, AuditConfig]]:
    """The config (validated, its KMS plugins asked) first, then the datastore, read-only."""
    from kcrypt.audit import offline_audit_config, open_offline

    # The plugins' state lines are a server's ("keeps running and reports not
    # ready"); here each unreachable plugin is reported with its values instead.
    logging.getLogger("kcrypt.kms").setLevel(logging.CRITICAL)
    async with offline_audit_config(source.data, source=source.source) as config:
        ds = await open_offline(datastore, ca_file=cafile, cert_file=certfile, key_file=keyfile)
        try:
            yield ds, config
        finally:
            await ds.close()


def _tls_for_etcd_only(datastore: str | None, *files: Path | None) -> None:
    """TLS files with a SQLite file, or with no --datastore, would be ignored: say so."""
    from kcrypt.datastore.endpoint import SCHEMES, redact

    if not any(files):
        return
    scheme = datastore.split("://", 1)[0].lower() if datastore and "://" in datastore else ""
    if SCHEMES.get(scheme, ("",))[0].startswith("kcrypt.datastore.etcd."):
        return
    given = "an online audit (no --datastore)"
    if datastore:
        given = f"--datastore {redact(datastore) if scheme else datastore}"
    raise click.UsageError(
        "--etcd-cafile, --etcd-certfile and --etcd-keyfile are for an etcd datastore "
        f"(--datastore etcd://... or https://...), not {given}"
    )


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


@click.command("audit", context_settings={"help_option_names": ["-h", "--help"]})
@_offline_options
@click.option("--no-history", is_flag=True, help="Skip older revisions (current values only).")
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--server",
    "-s",
    envvar="KCRYPT_URL",
    default="https://127.0.0.1:6443",
    show_default=True,
    help="(online) Server to ask when --datastore is not given.",
)
@click.option("--token", "-t", envvar="KCRYPT_TOKEN", help="(online) The server token.")
def audit(
    *,
    datastore: str | None,
    etcd_cafile: Path | None,
    etcd_certfile: Path | None,
    etcd_keyfile: Path | None,
    config_file: Path | None,
    data_dir: Path | None,
    no_history: bool,
    output: str,
    server: str,
    token: str | None,
) -> None:
    """Report which provider and key protects every value; exit 1 if anything is left."""
    _tls_for_etcd_only(datastore, etcd_cafile, etcd_certfile, etcd_keyfile)
    try:
        if datastore:
            report = asyncio.run(
                _audit_offline(
                    datastore,
                    etcd_cafile,
                    etcd_certfile,
                    etcd_keyfile,
                    _config(config_file, data_dir),
                    history=not no_history,
                )
            )
        else:
            report = _audit_online(data_dir, token, server, history=not no_history)
    except KcryptError as exc:
        _fail(exc)
        return
    from kcrypt.cli.audit_output import render_report

    if output == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        render_report(report)
    sys.exit(1 if report.left else 0)


async def _audit_offline(
    datastore: str,
    cafile: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    source: ConfigSource,
    *,
    history: bool,
) -> Report:
    from kcrypt.audit import audit_store
    from kcrypt.cli.audit_output import progress

    async with _offline(datastore, cafile, certfile, keyfile, source) as (ds, config):
        with progress() as on_progress:
            return await audit_store(
                ds,
                config.transformers,
                known_names=config.known_names,
                config_hash=config.hash,
                history=history,
                on_progress=on_progress,
            )


def _audit_online(
    data_dir: Path | None, token: str | None, server: str, *, history: bool
) -> Report:
    from kcrypt.audit import Report
    from kcrypt.cli.client import SupervisorClient, connection_settings

    conn = connection_settings(_data_dir(data_dir), token=token, server=server)
    with SupervisorClient(conn, timeout=600.0) as client:
        doc = client.audit(history=history)
    return Report.from_json(doc)


@click.command("decrypt", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("target", metavar="KEY|PREFIX/")
@_offline_options
@click.option(
    "-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
def decrypt(
    *,
    target: str,
    datastore: str | None,
    etcd_cafile: Path | None,
    etcd_certfile: Path | None,
    etcd_keyfile: Path | None,
    config_file: Path | None,
    data_dir: Path | None,
    output: str,
) -> None:
    """Print one stored object (/registry/secrets/NS/NAME) or every object under a
    prefix ending in '/', decrypted, for recovery. Reads only; never writes."""
    if not datastore:
        datastore = str(_data_dir(data_dir) / "server" / "db" / "state.db")
    _tls_for_etcd_only(datastore, etcd_cafile, etcd_certfile, etcd_keyfile)
    try:
        config = _config(config_file, data_dir)
        items = asyncio.run(
            _decrypt(datastore, etcd_cafile, etcd_certfile, etcd_keyfile, config, target)
        )
    except KcryptError as exc:
        _fail(exc)
        return
    from kcrypt.cli.audit_output import print_objects

    failed = print_objects(items, output=output, single=not target.endswith("/"))
    if not items:
        _fail(KcryptError(f"nothing stored at {target}"))
    sys.exit(1 if failed else 0)


async def _decrypt(
    datastore: str,
    cafile: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    source: ConfigSource,
    target: str,
) -> list[Any]:
    from kcrypt.audit import decrypt_objects

    async with _offline(datastore, cafile, certfile, keyfile, source) as (ds, config):
        return [d async for d in decrypt_objects(ds, config.transformers, target)]
