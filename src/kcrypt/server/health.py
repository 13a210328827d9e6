"""``/healthz``, ``/livez`` and ``/readyz`` in kube-apiserver's shape, open to probes.

As upstream (k8s.io/apiserver ``pkg/server/healthz``): ``ok`` with 200 when
every check passes; with ``?verbose`` one ``[+]<name> ok`` line per check and
``<endpoint> check passed``; any failure is a 500 ending in ``<endpoint> check
failed``, where a failed check prints as ``[-]<name> failed: reason withheld``
(the reason goes to the log only). ``/<endpoint>/<check>`` runs one check.
``?exclude=<check>`` skips one.

Like kube-apiserver (``system:public-info-viewer``), these answer anonymous
clients -- requests with no ``Authorization`` header -- so load balancers and
orchestrators can probe without the token. Anonymous callers get no details:
just ``ok``, or the 500 with its last line; the per-check lines and the
``verbose`` listing need the token. A *wrong* token is still a 401.

``/readyz`` also asks the datastore for its revision: a server whose datastore
is gone keeps running (``/livez`` stays green, as upstream) but load balancers
stop sending it work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kcrypt.apiserver import authenticated
from kcrypt.datastore import Datastore

__all__ = ["Check", "health_routes"]

log = logging.getLogger("kcrypt.server.health")

Check = tuple[str, Callable[[], Awaitable[None]]]
_DATASTORE_TIMEOUT = 2.0
_HEADERS = {"X-Content-Type-Options": "nosniff"}


async def _ping() -> None:
    return None


def health_routes(*, datastore: Datastore, extra: Sequence[Check] = ()) -> list[Route]:
    """``extra`` checks (kube-apiserver's ``kms-providers``) go on /healthz and /readyz
    only, never /livez, as upstream registers them."""

    async def datastore_check() -> None:
        await asyncio.wait_for(datastore.revision(), timeout=_DATASTORE_TIMEOUT)

    live: list[Check] = [("ping", _ping)]
    ready: list[Check] = [*live, ("datastore", datastore_check), *extra]
    routes = []
    for name, checks in (("healthz", ready), ("livez", live), ("readyz", ready)):
        routes.append(Route(f"/{name}", _endpoint(name, checks), methods=["GET"]))
        routes.append(Route(f"/{name}/{{check}}", _single(checks), methods=["GET"]))
    return routes


def _text(body: str, code: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=code, headers=_HEADERS)


async def _run(name: str, check: Callable[[], Awaitable[None]], endpoint: str) -> bool:
    try:
        await check()
    except Exception as exc:  # a failing check is an answer, not a crash
        log.warning("%s check %s failed: %s", endpoint, name, type(exc).__name__)
        return False
    return True


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
            elif await _run(check_name, check, name):
                lines.append(f"[+]{check_name} ok")
            else:
                failed = True
                lines.append(f"[-]{check_name} failed: reason withheld")
        unknown = sorted(excluded - {n for n, _ in checks})
        if unknown:
            shown = ", ".join(f'"{u}"' for u in unknown)
            lines.append(f"warn: some health checks cannot be excluded: no matches for {shown}")
        details = authenticated(request.scope)
        if failed:
            listing = "\n".join(lines) + "\n" if details else ""
            return _text(f"{listing}{name} check failed\n", 500)
        if details and "verbose" in request.query_params:
            return _text("\n".join(lines) + f"\n{name} check passed\n")
        return _text("ok")

    return handler


def _single(checks: Sequence[Check]) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    by_name = dict(checks)

    async def handler(request: Request) -> PlainTextResponse:
        name = request.path_params["check"]
        check = by_name.get(name)
        if check is None:
            return _text("404 page not found\n", 404)
        if await _run(name, check, request.url.path.split("/")[1]):
            return _text("ok")
        return _text("internal server error: check failed\n", 500)

    return handler
