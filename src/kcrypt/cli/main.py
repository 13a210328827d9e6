"""The ``kcrypt`` command: one root, sub-commands registered by layer.

Sub-command modules import the heavy layers lazily so ``kcrypt --help`` stays fast.
"""

from __future__ import annotations

import os

import click

from kcrypt import __version__
from kcrypt.cli.audit import audit, decrypt
from kcrypt.cli.etcd_rke import etcd
from kcrypt.cli.etcd_snapshot import etcd_snapshot
from kcrypt.cli.keys import keys
from kcrypt.cli.kms_plugin import kms_plugin
from kcrypt.cli.rewrite import rewrite
from kcrypt.cli.rke import encrypt, up
from kcrypt.cli.secrets_encrypt import secrets_encrypt
from kcrypt.cli.server import server

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcrypt")
def cli() -> None:
    """Kubernetes secrets encryption at rest: a control-plane server and the tools
    that manage its keys."""


# Sub-command modules import only click at module level; each imports its layer
# when it runs.
cli.add_command(server)
cli.add_command(secrets_encrypt)
cli.add_command(up)
cli.add_command(encrypt)
cli.add_command(rewrite)
cli.add_command(kms_plugin)
cli.add_command(audit)
cli.add_command(decrypt)
cli.add_command(etcd_snapshot)
cli.add_command(etcd)
cli.add_command(keys)


def main() -> None:
    # gRPC's C core logs its own transport errors (a refused client certificate
    # is ~30 lines of "TSI_DATA_CORRUPTED") to stderr, around and after the one
    # error kcrypt prints, which already carries gRPC's status detail. Silence
    # it unless the operator asks for it; grpc is only imported after this.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    cli(prog_name="kcrypt")


if __name__ == "__main__":
    main()
