"""Health endpoints and the reload metrics, as a scraper and a probe see them."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware

from kcrypt.apiserver import TokenAuthenticator
from kcrypt.apiserver.auth import BearerAuthMiddleware
from kcrypt.server.health import health_routes
from kcrypt.server.metrics import ReloadMetrics, apiserver_id_hash, metrics_route


class RevisionOnly:
    """Just enough datastore for /readyz: ``revision()`` works or fails."""

    def __init__(self) -> None:
        self.down = False

    async def revision(self) -> int:
        if self.down:
            raise ConnectionError("etcd://user:pw@host is gone")
        return 7


TOKEN = "health-test-token"


async def get(app: Starlette, path: str, *, token: str | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path, headers=headers)


def guarded(store: RevisionOnly) -> Starlette:
    """The health routes behind the API server's own token middleware."""
    return Starlette(
        routes=health_routes(datastore=store),  # type: ignore[arg-type]
        middleware=[
            Middleware(BearerAuthMiddleware, token_check=TokenAuthenticator(TOKEN)),
        ],
    )


async def test_readyz_follows_the_datastore_and_livez_does_not() -> None:
    store = RevisionOnly()
    app = guarded(store)
    assert (await get(app, "/readyz", token=TOKEN)).text == "ok"
    verbose = await get(app, "/readyz?verbose", token=TOKEN)
    assert verbose.text == "[+]ping ok\n[+]datastore ok\nreadyz check passed\n"
    assert verbose.headers["x-content-type-options"] == "nosniff"
    store.down = True
    failed = await get(app, "/readyz", token=TOKEN)
    assert failed.status_code == 500
    assert failed.text == "[+]ping ok\n[-]datastore failed: reason withheld\nreadyz check failed\n"
    assert "pw" not in failed.text
    assert (await get(app, "/livez", token=TOKEN)).status_code == 200
    assert (await get(app, "/healthz", token=TOKEN)).status_code == 500
    single = await get(app, "/readyz/datastore", token=TOKEN)
    assert single.status_code == 500
    assert (await get(app, "/readyz/ping", token=TOKEN)).text == "ok"
    excluded = await get(app, "/readyz?exclude=datastore", token=TOKEN)
    assert excluded.status_code == 200


async def test_probes_need_no_token_and_anonymous_callers_get_no_details() -> None:
    """kube-apiserver's public-info-viewer: load balancers probe without credentials."""
    store = RevisionOnly()
    app = guarded(store)
    assert (await get(app, "/readyz")).text == "ok"
    assert (await get(app, "/livez/ping")).text == "ok"
    assert (await get(app, "/readyz?verbose")).text == "ok"  # the listing needs the token
    store.down = True
    failed = await get(app, "/readyz")
    assert (failed.status_code, failed.text) == (500, "readyz check failed\n")
    assert (
        await get(app, "/readyz", token="wrong")
    ).status_code == 401  # a wrong token is no probe


async def test_reload_metrics_use_kube_apiservers_names_and_labels() -> None:
    registry = CollectorRegistry()
    metrics = ReloadMetrics(registry, apiserver_id="kcrypt-n1")
    metrics.record_config_info("sha256:aaa")
    metrics.record_failure()
    metrics.record_success("sha256:bbb")
    text = (await get(Starlette(routes=[metrics_route(registry)]), "/metrics")).text
    id_hash = apiserver_id_hash("kcrypt-n1")
    assert id_hash.startswith("sha256:") and len(id_hash) == 7 + 64
    prefix = "apiserver_encryption_config_controller_"
    assert (
        f'{prefix}automatic_reloads_total{{apiserver_id_hash="{id_hash}",status="failure"}} 1.0'
        in text
    )
    assert (
        f'{prefix}automatic_reloads_total{{apiserver_id_hash="{id_hash}",status="success"}} 1.0'
        in text
    )
    assert (
        f'{prefix}automatic_reload_last_timestamp_seconds{{apiserver_id_hash="{id_hash}",status="success"}}'
        in text
    )
    assert (
        f'{prefix}last_config_info{{apiserver_id_hash="{id_hash}",hash="sha256:bbb"}} 1.0' in text
    )
    assert "sha256:aaa" not in text


def test_an_empty_identity_hashes_to_an_empty_label() -> None:
    assert apiserver_id_hash("") == ""
