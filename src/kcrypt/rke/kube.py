"""Reaching a Kubernetes API server from a kubeconfig, with httpx.

Only what kcrypt needs of a kubeconfig: the current (or named) context's
server, its CA (file or data, or ``insecure-skip-tls-verify``) and its
credentials (bearer token, token file, or client certificate). Certificate
and key *data* are written to a private temporary folder just long enough for
``ssl`` to load them. Tokens are never put in a message.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from kcrypt.files import write_atomic
from kcrypt.rke.errors import KubeAPIError, RkeError

__all__ = ["KubeAccess", "api_error", "async_client", "load_kubeconfig"]


@dataclass(frozen=True, slots=True)
class KubeAccess:
    server: str
    verify: ssl.SSLContext | bool = field(repr=False)
    token: str | None = field(default=None, repr=False)


def load_kubeconfig(path: Path, *, context: str | None = None) -> KubeAccess:
    try:
        doc: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise RkeError(f"can not read kubeconfig {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise RkeError(f"kubeconfig {path} is not valid YAML") from None
    if not isinstance(doc, dict):
        raise RkeError(f"kubeconfig {path} is not a kubeconfig")
    name = context or doc.get("current-context")
    ctx = _named(doc, "contexts", name, path).get("context") or {}
    cluster = _named(doc, "clusters", ctx.get("cluster"), path).get("cluster") or {}
    user = _named(doc, "users", ctx.get("user"), path).get("user") or {}
    server = str(cluster.get("server") or "").rstrip("/")
    if not server:
        raise RkeError(f"kubeconfig {path}: the cluster has no server")
    base = path.parent
    verify: ssl.SSLContext | bool
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    else:
        verify = ssl.create_default_context()
        ca = _material(cluster, "certificate-authority", base)
        if ca is not None:
            verify.load_verify_locations(cadata=ca.decode())
        cert, key = _material(user, "client-certificate", base), _material(user, "client-key", base)
        if cert is not None and key is not None:
            _load_client_cert(verify, cert, key)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (base / str(user["tokenFile"])).read_text().strip()
    return KubeAccess(server=server, verify=verify, token=token or None)


def async_client(
    access: KubeAccess, *, base_url: str | None = None, timeout: float = 30.0, connections: int = 16
) -> httpx.AsyncClient:
    headers = {"Accept": "application/json"}
    if access.token:
        headers["Authorization"] = f"Bearer {access.token}"
    return httpx.AsyncClient(
        base_url=base_url or access.server,
        verify=access.verify,
        headers=headers,
        timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def api_error(response: httpx.Response, *, what: str) -> KubeAPIError:
    """A readable error from a Kubernetes ``Status`` answer (or the bare HTTP status)."""
    reason, message = "", ""
    try:
        body = response.json()
        if isinstance(body, dict):
            reason = str(body.get("reason") or "")
            message = str(body.get("message") or "")
    except ValueError:
        pass
    text = message or response.reason_phrase or "error"
    return KubeAPIError(
        f"{what}: {response.status_code} {text}", code=response.status_code, reason=reason
    )


def _named(doc: dict[str, Any], kind: str, name: object, path: Path) -> dict[str, Any]:
    for item in doc.get(kind) or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    raise RkeError(f"kubeconfig {path}: no {kind[:-1]} named {name!r}")


def _material(section: dict[str, Any], name: str, base: Path) -> bytes | None:
    data = section.get(f"{name}-data")
    if data:
        return base64.b64decode(data)
    file = section.get(name)
    if file:
        p = Path(os.path.expanduser(str(file)))
        return (p if p.is_absolute() else base / p).read_bytes()
    return None


def _load_client_cert(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="kcrypt-kubeconfig-") as tmp:
        cert_file, key_file = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        write_atomic(cert_file, cert)
        write_atomic(key_file, key)
        ctx.load_cert_chain(str(cert_file), str(key_file))
