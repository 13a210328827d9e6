"""``/healthz``, ``/livez`` and ``/readyz`` in kube-apiserver's shape.

``ok`` with 200 when every check passes; with ``?verbose`` one ``[+]name ok``
line per check, as kube-apiserver prints them. ``/readyz`` also asks the
datastore for its revision: a server whose datastore is gone keeps running
(``/livez`` stays green, as upstream) but load balancers stop sending it work.
Failure lines name the check and the error's class, never a datastore URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kcrypt.datastore.contract import Datastore

__all__ = ["health_routes"]

Check = tuple[str, Callable[[], Awaitable[None]]]
_DATASTORE_TIMEOUT = 2.0


async def _ping() -> None:
    return None


def health_routes(*, datastore: Datastore) -> list[Route]:
    async def datastore_check() -> None:
        await asyncio.wait_for(datastore.revision(), timeout=_DATASTORE_TIMEOUT)

    live: list[Check] = [("ping", _ping)]
    ready: list[Check] = [*live, ("datastore", datastore_check)]
    return [
        Route("/healthz", _endpoint("healthz", ready), methods=["GET"]),
        Route("/livez", _endpoint("livez", live), methods=["GET"]),
        Route("/readyz", _endpoint("readyz", ready), methods=["GET"]),
    ]


def _endpoint(
    name: str, checks: Sequence[Check]
) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def handler(request: Request) -> PlainTextResponse:
        lines: list[str] = []
        failed = False
        for check_name, check in checks:
            try:
                await check()
            except Exception as exc:  # a failing check is an answer, not a crash
                failed = True
                lines.append(f"[-]{check_name} failed: {type(exc).__name__}")
            else:
                lines.append(f"[+]{check_name} ok")
        if failed:
            body = "\n".join(lines) + f"\n{name} check failed\n"
            return PlainTextResponse(body, status_code=500)
        if "verbose" in request.query_params:
            return PlainTextResponse("\n".join(lines) + f"\n{name} check passed\n")
        return PlainTextResponse("ok")

    return handler
