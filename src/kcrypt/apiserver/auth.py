"""Bearer-token authentication for every endpoint.

:class:`TokenAuthenticator` compares in constant time (``hmac.compare_digest``)
and keeps the token in :class:`~kcrypt.sensitive.SecretBytes`, so it never
shows up in a repr or a log. :class:`BearerAuthMiddleware` is plain ASGI: a
request without ``Authorization: Bearer <token>`` accepted by the check gets
kube-apiserver's 401 Status before any route runs, whatever the path.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from kcrypt.apiserver.negotiation import JSON, dump_json
from kcrypt.apiserver.status import status
from kcrypt.sensitive import SecretBytes

__all__ = ["BearerAuthMiddleware", "TokenAuthenticator", "bearer_token"]

log = logging.getLogger("kcrypt.apiserver.auth")

_UNAUTHORIZED = dump_json(status(401, "Unauthorized", "Unauthorized"))


class TokenAuthenticator:
    """``TokenAuthenticator(token)(presented) -> bool``, constant time."""

    __slots__ = ("_token",)

    def __init__(self, token: str | bytes | SecretBytes) -> None:
        if isinstance(token, str):
            token = token.encode()
        self._token = token if isinstance(token, SecretBytes) else SecretBytes(token)
        if not len(self._token):
            raise ValueError("the API token must not be empty")

    def __call__(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self._token.reveal())

    def __repr__(self) -> str:
        return "TokenAuthenticator(<redacted>)"


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, *, token_check: Callable[[str], bool]) -> None:
        self.app = app
        self.token_check = token_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        token = bearer_token(header)
        if token is not None and self.token_check(token):
            await self.app(scope, receive, send)
            return
        log.info("unauthenticated request: %s %s", scope.get("method"), scope.get("path"))
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", JSON.encode()),
                    (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})
