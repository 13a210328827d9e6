"""``/healthz``, ``/livez`` and ``/readyz`` in kube-apiserver's shape.

``ok`` with 200 when every check passes; with ``?verbose`` one ``[+]name ok``
line per check, as kube-apiserver prints them; a failed check prints
``[-]name failed: reason withheld`` (the reason goes to the server log, as
upstream does, since these endpoints are anonymous). Each check is also
served alone at ``/healthz/<name>`` and ``/readyz/<name>``, and
``?exclude=<name>`` leaves one out (``[+]name excluded: ok``).

``/readyz`` asks the datastore for its revision: a server whose datastore is
gone keeps running (``/livez`` stays green, as upstream) but load balancers
stop sending it work. Extra checks (kube-apiserver's ``kms-providers``) go on
/healthz and /readyz only, never /livez, as upstream registers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kcrypt.datastore import Datastore

__all__ = ["Check", "health_routes"]

log = logging.getLogger("kcrypt.server.health")

Check = tuple[str, Callable[[], Awaitable[None]]]
_DATASTORE_TIMEOUT = 2.0


async def _ping() -> None:
    return None


def health_routes(*, datastore: Datastore, extra: Sequence[Check] = ()) -> list[Route]:
    async def datastore_check() -> None:
        await asyncio.wait_for(datastore.revision(), timeout=_DATASTORE_TIMEOUT)

    live: list[Check] = [("ping", _ping)]
    ready: list[Check] = [*live, ("datastore", datastore_check), *extra]
    routes = [
        Route("/healthz", _endpoint("healthz", ready), methods=["GET"]),
        Route("/livez", _endpoint("livez", live), methods=["GET"]),
        Route("/readyz", _endpoint("readyz", ready), methods=["GET"]),
    ]
    for endpoint, checks in (("healthz", ready), ("livez", live), ("readyz", ready)):
        for check in checks:
            routes.append(Route(f"/{endpoint}/{check[0]}", _single(check), methods=["GET"]))
    return routes


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> bool:
    try:
        await check()
    except Exception as exc:  # a failing check is an answer, not a crash
        log.debug("%s check failed: %s", name, exc)
        return False
    return True


def _single(check: Check) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    name, fn = check

    async def handler(request: Request) -> PlainTextResponse:
        if await _run(name, fn):
            return PlainTextResponse("ok")
        return PlainTextResponse("internal server error: reason withheld\n", status_code=500)

    return handler


def _endpoint(
    name: str, checks: Sequence[Check]
) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def handler(request: Request) -> PlainTextResponse:
        excluded = set(request.query_params.getlist("exclude"))
        lines: list[str] = []
        failed = False
        for check_name, check in checks:
            if check_name in excluded:
                lines.append(f"[+]{check_name} excluded: ok")
            elif await _run(check_name, check):
                lines.append(f"[+]{check_name} ok")
            else:
                failed = True
                lines.append(f"[-]{check_name} failed: reason withheld")
        if failed:
            body = "\n".join(lines) + f"\n{name} check failed\n"
            return PlainTextResponse(body, status_code=500)
        if "verbose" in request.query_params:
            return PlainTextResponse("\n".join(lines) + f"\n{name} check passed\n")
        return PlainTextResponse("ok")

    return handler
