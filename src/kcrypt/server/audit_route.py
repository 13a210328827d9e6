"""``GET /v1-kcrypt/audit``: the server audits its own datastore with its live config.

The same read-only scan as the offline ``kcrypt audit --datastore``
(:func:`kcrypt.audit.audit_store`), over the server's datastore with the
transformers it serves with at that moment (none: identity) -- KMS values are
opened through its plugin connections. ``?history=false`` skips older
revisions. Behind the bearer token like every supervisor endpoint.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kcrypt.apiserver import status
from kcrypt.audit import audit_store, live_audit_config
from kcrypt.config import ConfigSnapshot
from kcrypt.datastore import Datastore
from kcrypt.errors import KcryptError
from kcrypt.storage import TransformerRegistry

__all__ = ["AUDIT_PATH", "audit_routes"]

AUDIT_PATH = "/v1-kcrypt/audit"


def audit_routes(datastore: Datastore, registry: TransformerRegistry) -> list[BaseRoute]:
    async def audit(request: Request) -> Response:
        try:
            current = registry.current
            config = live_audit_config(current if isinstance(current, ConfigSnapshot) else None)
            report = await audit_store(
                datastore,
                config.transformers,
                known_names=config.known_names,
                config_hash=config.hash,
                history=request.query_params.get("history", "true") != "false",
            )
        except KcryptError as exc:
            return JSONResponse(status(500, "InternalError", str(exc)), status_code=500)
        return JSONResponse(report.to_json())

    return [Route(AUDIT_PATH, audit, methods=["GET"])]
