"""What the local snapshot and key commands read: this server's data dir, its datastore.

Like ``k3s etcd-snapshot``, they run on a server's machine next to (or
instead of) the running server: the embedded SQLite file is opened
read-only (its writer lock stays with the server), etcd with the same
endpoint and client certificates the server uses. The token (for the
snapshot's sealed encryption state) and the config are read from the data
dir, as ``kcrypt server`` writes them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kcrypt.datastore import Datastore

__all__ = ["DATA_DIR_OPTION", "ETCD_TLS_OPTIONS", "Local", "local_options"]

#: The client TLS files for etcd (kubeadm: /etc/kubernetes/pki/etcd/...), shared by every
#: command that reads a datastore itself.
ETCD_TLS_OPTIONS = (
    click.option(
        "--etcd-cafile",
        type=click.Path(dir_okay=False, path_type=Path),
        help="CA bundle that signed the etcd servers' certificates.",
    ),
    click.option(
        "--etcd-certfile",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Client certificate for etcd (client-cert-auth).",
    ),
    click.option(
        "--etcd-keyfile",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Key of --etcd-certfile.",
    ),
)

DATA_DIR_OPTION = click.option(
    "--data-dir",
    "-d",
    envvar="KCRYPT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="(data) The server's data dir (default /var/lib/kcrypt or ~/.kcrypt).",
)


@dataclass(frozen=True, slots=True)
class Local:
    data_dir: Path
    endpoint: str | None
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    given_token: str | None
    config_file: Path | None
    node_name: str
    snapshot_dir: Path | None

    @property
    def server_dir(self) -> Path:
        return self.data_dir / "server"

    @property
    def snapshots(self) -> Path:
        return self.snapshot_dir or self.server_dir / "db" / "snapshots"

    @property
    def keyring(self) -> Path:
        return self.server_dir / "cred" / "keyring.json"

    def token(self) -> str | None:
        if self.given_token:
            return self.given_token
        try:
            return (self.server_dir / "token").read_text().strip() or None
        except OSError:
            return None

    def config(self) -> bytes | None:
        path = self.config_file or self.server_dir / "cred" / "encryption-config.json"
        try:
            return path.read_bytes() or None
        except OSError:
            return None

    async def open(self) -> Datastore:
        from kcrypt.datastore import open_datastore

        if not self.endpoint or self.endpoint.startswith("sqlite://"):
            url = self.endpoint or f"sqlite://{(self.server_dir / 'db' / 'state.db').absolute()}"
            return await open_datastore(url, read_only=True)
        tls = {"ca_file": self.ca_file, "cert_file": self.cert_file, "key_file": self.key_file}
        return await open_datastore(self.endpoint, **{k: v for k, v in tls.items() if v})


def _default_data_dir() -> Path:
    from kcrypt.server.settings import default_data_dir

    return default_data_dir()


def local_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the options and passes one ``local: Local`` to the command."""
    options = [
        DATA_DIR_OPTION,
        click.option(
            "--datastore-endpoint",
            help="The server's datastore (default: its SQLite "
            "file); etcd://h:2379,... or https://... with the --etcd-* files.",
        ),
        *ETCD_TLS_OPTIONS,
        click.option(
            "--token",
            "-t",
            envvar="KCRYPT_TOKEN",
            help="The server token (default: <data-dir>/server/token).",
        ),
        click.option(
            "--encryption-provider-config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The config the server runs (default: its encryption-config.json).",
        ),
        click.option(
            "--node-name",
            envvar="KCRYPT_NODE_NAME",
            help="This server's name (default: the hostname).",
        ),
        click.option(
            "--dir",
            "--etcd-snapshot-dir",
            "snapshot_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="(db) Directory of snapshots (default: ${data-dir}/server/db/snapshots).",
        ),
    ]

    @functools.wraps(f)  # keeps the command's own click options (__click_params__)
    def wrapper(**kwargs: Any) -> Any:
        local = Local(
            data_dir=(kwargs.pop("data_dir") or _default_data_dir()).absolute(),
            endpoint=kwargs.pop("datastore_endpoint"),
            ca_file=kwargs.pop("etcd_cafile"),
            cert_file=kwargs.pop("etcd_certfile"),
            key_file=kwargs.pop("etcd_keyfile"),
            given_token=kwargs.pop("token"),
            config_file=kwargs.pop("config_file"),
            node_name=kwargs.pop("node_name") or os.uname().nodename,
            snapshot_dir=kwargs.pop("snapshot_dir"),
        )
        return f(local=local, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
