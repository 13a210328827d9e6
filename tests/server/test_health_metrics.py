"""Health endpoints and the reload metrics, as a scraper and a probe see them."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

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


async def get(app: Starlette, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_readyz_follows_the_datastore_and_livez_does_not() -> None:
    store = RevisionOnly()
    app = Starlette(routes=health_routes(datastore=store))  # type: ignore[arg-type]
    assert (await get(app, "/readyz")).text == "ok"
    verbose = await get(app, "/readyz?verbose")
    assert "[+]datastore ok" in verbose.text and "readyz check passed" in verbose.text
    store.down = True
    failed = await get(app, "/readyz")
    assert failed.status_code == 500
    assert "[-]datastore failed" in failed.text
    assert "pw" not in failed.text
    assert (await get(app, "/livez")).status_code == 200
    assert (await get(app, "/healthz")).status_code == 500


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
