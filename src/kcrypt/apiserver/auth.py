"""Bearer-token authentication for every endpoint and every transport.

:class:`TokenAuthenticator` compares in constant time (``hmac.compare_digest``)
and keeps the token in :class:`~kcrypt.sensitive.SecretBytes`, so it never
shows up in a repr or a log. :class:`BearerAuthMiddleware` is plain ASGI and
runs before any route, for HTTP and WebSocket alike:

* a request with a token the check accepts is the administrator's;
* a request with *no* ``Authorization`` header may read the health and
  version endpoints, as kube-apiserver's ``system:public-info-viewer`` role
  lets anonymous clients do (``GET /healthz``, ``/livez``, ``/readyz`` and
  their per-check paths, ``/version``), so load-balancer probes work; those
  handlers give anonymous callers no details (:func:`authenticated`);
* anything else gets kube-apiserver's 401 Status (a WebSocket upgrade is
  refused the same way, or closed before it is accepted when the server
  cannot send an HTTP answer on a WebSocket).

Refused requests are logged, but a flood of them is not: the first one in
each minute is logged, the rest are counted into the next line
(:class:`RefusalLog`).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kcrypt.apiserver.negotiation import JSON, dump_json
from kcrypt.apiserver.status import status
from kcrypt.sensitive import SecretBytes

__all__ = [
    "ANONYMOUS_PATHS",
    "BearerAuthMiddleware",
    "RefusalLog",
    "TokenAuthenticator",
    "authenticated",
    "bearer_token",
]

log = logging.getLogger("kcrypt.apiserver.auth")

_UNAUTHORIZED = dump_json(status(401, "Unauthorized", "Unauthorized"))
_USER = "kcrypt.authenticated"
ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz", "/version")


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


def authenticated(scope: Scope) -> bool:
    """Did this request present the token (False: an anonymous health probe)?"""
    return bool(scope.get(_USER))


def _anonymous_allowed(scope: Scope) -> bool:
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    path = str(scope.get("path") or "")
    return any(path == p or path.startswith(p + "/") for p in ANONYMOUS_PATHS)


class RefusalLog:
    """One log line per ``window`` seconds for refused requests, however many come."""

    def __init__(
        self, *, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._opened: float | None = None
        self._suppressed = 0

    def refused(self, method: str, path: str) -> None:
        now = self._clock()
        if self._opened is not None and now - self._opened < self.window:
            self._suppressed += 1
            return
        if self._suppressed:
            log.info(
                "unauthenticated request: %s %r (and %d more in the previous %.0f s)",
                method,
                path,
                self._suppressed,
                self.window,
            )
        else:
            log.info("unauthenticated request: %s %r", method, path)
        self._opened, self._suppressed = now, 0


class BearerAuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        token_check: Callable[[str], bool],
        refusals: RefusalLog | None = None,
    ) -> None:
        self.app = app
        self.token_check = token_check
        self.refusals = refusals or RefusalLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        token = bearer_token(header)
        if token is not None and self.token_check(token):
            scope[_USER] = True
            await self.app(scope, receive, send)
            return
        if header is None and scope["type"] == "http" and _anonymous_allowed(scope):
            scope[_USER] = False
            await self.app(scope, receive, send)
            return
        self.refusals.refused(str(scope.get("method") or "WEBSOCKET"), str(scope.get("path")))
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, receive, send)
            return
        await send(_start(401))
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})


def _start(code: int, *, kind: str = "http.response.start") -> Message:
    return {
        "type": kind,
        "status": code,
        "headers": [
            (b"content-type", JSON.encode()),
            (b"content-length", str(len(_UNAUTHORIZED)).encode()),
        ],
    }


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Never accept: a 401 Status when the server can send one, else close (HTTP 403)."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(_start(401, kind="websocket.http.response.start"))
        await send({"type": "websocket.http.response.body", "body": _UNAUTHORIZED})
        return
    await send({"type": "websocket.close", "code": 1008})
