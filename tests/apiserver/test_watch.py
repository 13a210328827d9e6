"""Watch over HTTP: JSON lines as events happen, Table events, the end on disconnect."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import httpx

from kcrypt.storage import ObjectStore

from ._support import SECRETS, TOKEN, secret

WAIT = 20.0  # a bound on hangs, never a timing assertion


class OpenWatch:
    """Drives the ASGI app by hand, so the test sees each chunk as it is sent and can
    hang up; httpx's ASGITransport would wait for the whole body."""

    def __init__(self, app: Any, path: str, query: dict[str, str], accept: str) -> None:
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.status: int | None = None
        self._gone = asyncio.Event()
        self._sent_request = False
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(query).encode(),
            "headers": [
                (b"authorization", f"Bearer {TOKEN}".encode()),
                (b"accept", accept.encode()),
                (b"host", b"kcrypt.test"),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("kcrypt.test", 80),
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        if not self._sent_request:
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message.get("body"):
            await self.chunks.put(message["body"])

    async def event(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            line = await self.chunks.get()
        decoded: dict[str, Any] = json.loads(line)
        return decoded

    async def hang_up(self) -> None:
        self._gone.set()
        async with asyncio.timeout(WAIT):
            await self.task


async def test_watch_streams_events_as_they_happen_and_ends_on_disconnect(
    app: Any, client: httpx.AsyncClient, store: ObjectStore
) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="1"))).json()
    rv = created["metadata"]["resourceVersion"]
    watch = OpenWatch(app, SECRETS, {"watch": "true", "resourceVersion": rv}, "application/json")
    await client.put(f"{SECRETS}/s1", json=secret("s1", a="2"))
    first = await watch.event()
    assert watch.status == 200
    assert first["type"] == "MODIFIED"
    assert first["object"]["metadata"]["name"] == "s1"
    await client.post(SECRETS, json=secret("s2"))
    await client.delete(f"{SECRETS}/s1")
    assert (await watch.event())["type"] == "ADDED"
    deleted = await watch.event()
    assert deleted["type"] == "DELETED" and deleted["object"]["metadata"]["name"] == "s1"
    await watch.hang_up()  # returns only once the stream and its datastore watch are closed


async def test_watch_with_table_accept_as_kubectl_get_w(
    app: Any, client: httpx.AsyncClient
) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="1"))).json()
    watch = OpenWatch(
        app,
        SECRETS,
        {"watch": "true", "resourceVersion": created["metadata"]["resourceVersion"]},
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )
    await client.post(SECRETS, json=secret("s2", a="1", b="2"))
    event = await watch.event()
    assert event["type"] == "ADDED"
    table = event["object"]
    assert table["kind"] == "Table"
    assert table["rows"][0]["cells"][:3] == ["s2", "Opaque", 2]
    await watch.hang_up()


async def test_watch_without_resource_version_starts_with_adds_and_honours_timeout(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1"))
    r = await client.get(SECRETS, params={"watch": "true", "timeoutSeconds": "1"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "s1")]


async def test_watch_label_selector_over_http(app: Any, client: httpx.AsyncClient) -> None:
    created = (await client.post(SECRETS, json=secret("start"))).json()
    watch = OpenWatch(
        app,
        "/api/v1/secrets",
        {
            "watch": "true",
            "resourceVersion": created["metadata"]["resourceVersion"],
            "labelSelector": "app=web",
        },
        "application/json",
    )
    other = secret("other")
    other["metadata"]["labels"] = {"app": "db"}
    await client.post(SECRETS, json=other)
    web = secret("web")
    web["metadata"]["labels"] = {"app": "web"}
    await client.post(SECRETS, json=web)
    event = await watch.event()
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "web")
    await watch.hang_up()


async def test_bad_watch_parameters_are_4xx_before_streaming(client: httpx.AsyncClient) -> None:
    r = await client.get(SECRETS, params={"watch": "true", "resourceVersion": "abc"})
    assert r.status_code == 422  # upstream's InterpretWatchError
    assert r.json()["message"] == (
        'secrets "" is invalid: resourceVersion: Invalid value: "abc": '
        'strconv.ParseUint: parsing "abc": invalid syntax'
    )
    r = await client.get(SECRETS, params={"watch": "true", "labelSelector": "a in ("})
    assert r.status_code == 400


async def test_watch_from_a_compacted_revision_sends_an_expired_error_event(
    client: httpx.AsyncClient, store: ObjectStore
) -> None:
    created = (await client.post(SECRETS, json=secret("s1", a="0"))).json()
    for i in range(3):
        await client.put(f"{SECRETS}/s1", json=secret("s1", a=str(i + 1)))
    await store.datastore.compact(await store.datastore.revision())
    r = await client.get(
        SECRETS,
        params={"watch": "true", "resourceVersion": created["metadata"]["resourceVersion"]},
    )
    (event,) = [json.loads(line) for line in r.text.splitlines()]
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
