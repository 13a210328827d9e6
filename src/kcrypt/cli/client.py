"""HTTP client to a server's supervisor endpoints (``/v1-kcrypt/...``).

Why its own module: every error a server returns is turned into the server's
*real* message here -- a Kubernetes ``Status`` JSON's ``message``, a JSON
``{"message": ...}``/``{"error": ...}``, or the text body -- never k3s's
"see server log for details".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

__all__ = ["SupervisorClient", "SupervisorError", "connection_settings", "error_message"]

DEFAULT_SERVER = "https://127.0.0.1:6443"


class SupervisorError(click.ClickException):
    """Printed by click as ``Error: <message>``, exit code 1."""


def error_message(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        for field in ("message", "error"):
            if isinstance(body.get(field), str) and body[field]:
                return str(body[field])
    return text or f"{response.status_code} {response.reason_phrase}"


@dataclass(frozen=True, slots=True)
class Connection:
    server: str
    token: str
    verify: str | bool


def connection_settings(data_dir: Path, *, token: str | None, server: str | None) -> Connection:
    """``--token`` (KCRYPT_TOKEN), else ``<data-dir>/server/token``; CA: ``server-ca.crt``;
    ``--server``, else the URL the server recorded in ``<data-dir>/server/url``."""
    if not server:
        try:
            server = (data_dir / "server" / "url").read_text().strip() or DEFAULT_SERVER
        except OSError:
            server = DEFAULT_SERVER
    if not token:
        path = data_dir / "server" / "token"
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise SupervisorError(
                f"no --token given and cannot read {path}: {exc.strerror or exc}"
            ) from None
    ca = data_dir / "server" / "tls" / "server-ca.crt"
    verify: str | bool = str(ca) if ca.is_file() else True
    return Connection(server=server.rstrip("/"), token=token, verify=verify)


class SupervisorClient:
    def __init__(
        self,
        conn: Connection,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=conn.server,
            transport=transport,
            verify=conn.verify,
            timeout=timeout,
            headers={"Authorization": f"Bearer {conn.token}"},
        )

    def __enter__(self) -> SupervisorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _call(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        try:
            response = self._client.request(method, path, json=body, params=params)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # killed or restarted mid-answer (a waiting request is in flight for seconds)
            raise SupervisorError(
                f"{self._client.base_url}{path}: disconnected: the server closed the "
                f"connection before it answered ({exc})"
            ) from None
        except httpx.HTTPError as exc:
            raise SupervisorError(f"{self._client.base_url}{path}: {exc}") from None
        if response.status_code >= 400:
            raise SupervisorError(error_message(response))
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    def status(self) -> dict[str, Any]:
        result = self._call("GET", "/v1-kcrypt/encrypt/status")
        return result if isinstance(result, dict) else {}

    def progress(self, *, after: int = 0, wait: float = 0.0) -> dict[str, Any]:
        """The progress document; with the ``revision`` of the last one (``after``),
        once something changed since, or after ``wait`` seconds (a server without
        the long-poll answers at once)."""
        params = {"afterRevision": str(after), "timeoutSeconds": f"{wait:g}"} if after else None
        result = self._call("GET", "/v1-kcrypt/encrypt/progress", params=params)
        return result if isinstance(result, dict) else {}

    def snapshot_status(self) -> dict[str, Any]:
        """The last snapshot and restore (``{}`` from a server without the endpoint)."""
        try:
            result = self._call("GET", "/v1-kcrypt/snapshots/status")
        except SupervisorError:
            return {}
        return result if isinstance(result, dict) else {}

    def audit(self, *, history: bool = True) -> dict[str, Any]:
        path = "/v1-kcrypt/audit" + ("" if history else "?history=false")
        result = self._call("GET", path)
        return result if isinstance(result, dict) else {}

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        result = self._call("PUT", "/v1-kcrypt/encrypt/config", body)
        return result if isinstance(result, dict) else {}
