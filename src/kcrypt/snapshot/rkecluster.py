"""The little of an RKE ``cluster.yml`` the snapshot commands need -- nothing more.

Kept in one small module on purpose: the RKE workflow (``kcrypt.rke``) owns the
full cluster.yml schema; this reads only RKE's external-etcd fields

    services:
      etcd:
        external_urls: [https://10.0.0.1:2379, ...]   # kcrypt also takes sqlite:///path
        ca_cert: |-  PEM          cert: |-  PEM          key: |-  PEM
        path: /prefix                                  # RKE's external etcd prefix

and where the state file is: RKE keeps ``<name>.rkestate`` beside
``<name>.yml``. When ``kcrypt.rke`` lands, :func:`read_cluster` should become
a call into its parser.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kcrypt.datastore import Datastore, open_datastore
from kcrypt.snapshot.errors import SnapshotError

__all__ = ["ClusterFile", "open_cluster_datastore", "read_cluster", "state_file_path"]


@dataclass(frozen=True, slots=True)
class ClusterFile:
    path: Path
    endpoints: tuple[str, ...]
    ca_cert: str = field(default="", repr=False)
    cert: str = field(default="", repr=False)
    key: str = field(default="", repr=False)
    prefix: str = ""

    @property
    def state_file(self) -> Path:
        return state_file_path(self.path)


def state_file_path(cluster_yml: Path) -> Path:
    """RKE: ``cluster.yml`` -> ``cluster.rkestate`` in the same directory."""
    return cluster_yml.with_suffix(".rkestate")


def read_cluster(path: Path) -> ClusterFile:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SnapshotError(f"{path} is not valid YAML: {exc}") from None
    etcd = ((doc.get("services") or {}).get("etcd") or {}) if isinstance(doc, dict) else {}
    urls = tuple(str(u) for u in etcd.get("external_urls") or ())
    if not urls:
        raise SnapshotError(
            f"{path}: services.etcd.external_urls names no datastore (the etcd endpoints the "
            "API servers use, or sqlite:///path for an embedded one)"
        )
    return ClusterFile(
        path=path,
        endpoints=urls,
        ca_cert=str(etcd.get("ca_cert") or ""),
        cert=str(etcd.get("cert") or ""),
        key=str(etcd.get("key") or ""),
        prefix=str(etcd.get("path") or ""),
    )


@contextlib.asynccontextmanager
async def open_cluster_datastore(
    cluster: ClusterFile, *, read_only: bool
) -> AsyncIterator[Datastore]:
    """The datastore the cluster file names; inline PEMs go to a private temp dir."""
    first = cluster.endpoints[0]
    if first.startswith("sqlite://"):
        ds = await open_datastore(first, read_only=read_only)
    else:
        url = ",".join(cluster.endpoints)
        with tempfile.TemporaryDirectory(prefix="kcrypt-etcd-tls-") as tmp:
            files: dict[str, Path] = {}
            for option, pem in (
                ("ca_file", cluster.ca_cert),
                ("cert_file", cluster.cert),
                ("key_file", cluster.key),
            ):
                if pem:
                    files[option] = Path(tmp) / option
                    files[option].write_text(pem)
                    files[option].chmod(0o600)
            ds = await open_datastore(url, prefix=cluster.prefix, **files)
    try:
        yield ds
    finally:
        await ds.close()
