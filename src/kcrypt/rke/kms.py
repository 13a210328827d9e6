"""Refuse a config whose new KMS plugin does not answer, before any node is touched.

RKE deploys a KMS config blindly; an API server that cannot reach its plugin
cannot read or write anything the plugin protects. kcrypt checks, on every
controlplane node, that the plugin's unix socket accepts a connection (this
host: a real connect; over SSH: ``test -S`` on the socket path). A plugin
that accepts connections but that the API server then cannot use still
stops the change safely: the server rejects the reload, the read phase is
never proven, and nothing was written under the new config.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import TYPE_CHECKING

from kcrypt.config import EncryptionConfiguration
from kcrypt.rke.errors import Refused

if TYPE_CHECKING:
    from kcrypt.rke.fleet import Fleet

__all__ = ["check_kms_plugins", "kms_endpoints"]


def kms_endpoints(config: EncryptionConfiguration | None) -> dict[str, str]:
    """``{plugin name: endpoint}`` of every KMS provider in ``config``."""
    out: dict[str, str] = {}
    for entry in config.resources if config else ():
        for p in entry.providers:
            if p.kms is not None:
                out[p.kms.name] = p.kms.endpoint
    return out


async def check_kms_plugins(
    fleet: Fleet, wanted: EncryptionConfiguration, current: EncryptionConfiguration | None
) -> None:
    new = {n: e for n, e in kms_endpoints(wanted).items() if kms_endpoints(current).get(n) != e}
    for name, endpoint in new.items():
        path = endpoint.removeprefix("unix://")
        for node in fleet.nodes:
            if node.local:
                ok = await _connects(path)
            else:
                ok = await fleet.run(node, f"test -S {shlex.quote(path)}") == 0
            if not ok:
                raise Refused(
                    f"custom_config names the KMS provider {name!r} at {endpoint}, but no plugin "
                    f"answers there on node {node.name}; nothing was deployed. Start the KMS "
                    f"plugin on every controlplane node first, then run kcrypt up again"
                )


async def _connects(path: str) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout=5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
