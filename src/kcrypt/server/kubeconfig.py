"""The admin kubeconfig: CA data, server URL and bearer token.

Written 0600 to ``<data-dir>/server/cred/admin.kubeconfig`` and, when asked
(k3s's ``--write-kubeconfig``), to a second path with the asked mode. It holds
the admin token, so wider modes are the user's explicit choice.
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from kcrypt.files import write_atomic

__all__ = ["kubeconfig_server_url", "render_kubeconfig", "write_kubeconfig"]

_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def kubeconfig_server_url(bind_address: str, port: int) -> str:
    """Where clients on this machine reach the API (wildcards map to loopback)."""
    host = _LOOPBACK_FOR.get(bind_address, bind_address)
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{port}"


def render_kubeconfig(*, server_url: str, ca_pem: bytes, token: str) -> bytes:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "default",
                "cluster": {
                    "server": server_url,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "users": [{"name": "default", "user": {"token": token}}],
        "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
        "current-context": "default",
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False).encode()


def write_kubeconfig(path: Path, content: bytes, *, mode: int = 0o600) -> None:
    write_atomic(path, content, mode=mode)
