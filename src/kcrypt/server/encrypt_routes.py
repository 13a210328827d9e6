"""The ``secrets-encrypt`` endpoints, behind the same bearer-token auth as the API::

    GET /v1-kcrypt/encrypt/status    -> 200 k3s's EncryptionState JSON (+ progress, step)
    PUT /v1-kcrypt/encrypt/config    -> 200 {"message": ...} (or the dry run's document)
    GET /v1-kcrypt/encrypt/progress  -> 200 the state's generation, job and last pass
        (?afterRevision=R&timeoutSeconds=T: held until either changed after R, at most T s)

Errors are a Kubernetes ``Status`` whose ``message`` is the real reason (k3s
only says "secret-encrypt error ID NNNNN" and leaves the reason in its log).
The handlers ask the supervisor for its service at each request: the service
exists only once the server has started, and a custom-config server has
:class:`~kcrypt.server.own_config.OwnConfigCommands` instead.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kcrypt.apiserver import ApiError, ClientGone, parse_json, read_body, status
from kcrypt.encryption import EncryptionError, EncryptionService, UnsupportedConfig
from kcrypt.errors import KcryptError
from kcrypt.server.own_config import OwnConfigCommands

__all__ = ["CONFIG_PATH", "MAX_PROGRESS_WAIT", "PROGRESS_PATH", "STATUS_PATH", "encrypt_routes"]

log = logging.getLogger("kcrypt.server.encryption")

STATUS_PATH = "/v1-kcrypt/encrypt/status"
CONFIG_PATH = "/v1-kcrypt/encrypt/config"
PROGRESS_PATH = "/v1-kcrypt/encrypt/progress"
_ANY_METHOD = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]
"""Every method reaches the handler, which answers k3s's 405 for the wrong one."""
MAX_PROGRESS_WAIT = 30.0
"""The longest a progress request is held open waiting for a change (seconds)."""


class Commands(Protocol):
    """What the handlers need of the supervisor, read at each request."""

    @property
    def service(self) -> EncryptionService | None: ...

    @property
    def own(self) -> OwnConfigCommands | None: ...

    @property
    def path(self) -> Path: ...


def encrypt_routes(commands: Commands) -> list[BaseRoute]:
    handlers = _Handlers(commands)
    return [
        Route(STATUS_PATH, handlers.status, methods=_ANY_METHOD),
        Route(CONFIG_PATH, handlers.config, methods=_ANY_METHOD),
        Route(PROGRESS_PATH, handlers.progress, methods=_ANY_METHOD),
    ]


class _Handlers:
    def __init__(self, commands: Commands) -> None:
        self._c = commands

    def _refusal(self) -> str:
        return (
            f"secrets-encrypt manages only the server's own encryption config "
            f"(server/cred/encryption-config.json); this server runs with "
            f"--encryption-provider-config {self._c.path}: edit that file instead "
            f"(it is reloaded automatically)"
        )

    async def status(self, request: Request) -> Response:
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", "method not allowed")
        try:
            if self._c.own is not None:
                doc = self._c.own.status()
            elif self._c.service is not None:
                doc = await self._c.service.status()
            else:
                return _error(400, "BadRequest", self._refusal())
        except EncryptionError as exc:
            return _error(exc.code, exc.reason, str(exc))
        except KcryptError as exc:
            log.error("secrets-encrypt status failed: %s", exc)
            return _error(500, "InternalError", str(exc))
        return JSONResponse(doc)

    async def progress(self, request: Request) -> Response:
        if request.method != "GET":
            return _error(405, "MethodNotAllowed", "method not allowed")
        if self._c.service is None:
            return _error(400, "BadRequest", self._refusal())
        try:
            after = int(request.query_params.get("afterRevision", "0"))
            wait = float(request.query_params.get("timeoutSeconds", "0"))
            if not math.isfinite(wait):
                raise ValueError(wait)
        except ValueError:
            return _error(
                400, "BadRequest", "afterRevision must be an integer and timeoutSeconds a number"
            )
        wait = min(max(wait, 0.0), MAX_PROGRESS_WAIT)
        return JSONResponse(await self._c.service.progress(after=after, wait=wait))

    async def config(self, request: Request) -> Response:
        if request.method != "PUT":
            return _error(405, "MethodNotAllowed", "method not allowed")
        if self._c.service is None and self._c.own is None:
            return _error(400, "BadRequest", self._refusal())
        try:  # the API server's body reader: 3 MiB cap, hostile JSON is a 400
            body: Any = parse_json(await read_body(request))
        except ApiError as exc:
            return _error(exc.code, exc.reason, exc.message, headers=exc.headers)
        except ClientGone:
            return Response(status_code=400)
        if not isinstance(body, dict):
            return _error(400, "BadRequest", "the request body is not a JSON object")
        try:
            if self._c.own is not None:
                try:
                    return JSONResponse(await self._c.own.apply(body))
                except UnsupportedConfig as exc:
                    return _error(400, "BadRequest", f"{self._refusal()}; {exc}")
            assert self._c.service is not None
            result = await self._c.service.apply(body)
        except EncryptionError as exc:
            log.warning("secrets-encrypt request refused: %s", exc)
            return _error(exc.code, exc.reason, str(exc))
        except KcryptError as exc:
            log.error("secrets-encrypt request failed: %s", exc)
            return _error(500, "InternalError", str(exc))
        return JSONResponse(result)


def _error(
    code: int, reason: str, message: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(status(code, reason, message), status_code=code, headers=headers)
