"""Hostile and malformed requests: a 4xx with upstream's words, and nothing changed (issue 9)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from kcrypt.apiserver.body import MAX_REQUEST_BODY_BYTES
from kcrypt.storage import ObjectStore

from ._support import SECRETS, TOKEN, assert_status, secret


async def names(store: ObjectStore) -> list[str]:
    return [o["metadata"]["name"] for o in (await store.list("secrets", namespace="default")).items]


async def test_a_bad_propagation_policy_is_422_and_deletes_nothing(
    client: httpx.AsyncClient, store: ObjectStore
) -> None:
    await client.post(SECRETS, json=secret("keep", a="1"))
    for r in (
        await client.delete(f"{SECRETS}/keep?propagationPolicy=Evil"),
        await client.request("DELETE", f"{SECRETS}/keep", json={"propagationPolicy": "Evil"}),
    ):
        assert_status(r.json(), code=422, reason="Invalid")
        assert r.json()["message"] == (
            'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
            '"Evil": supported values: "Foreground", "Background", "Orphan", "nil"'
        )
        assert r.json()["details"]["causes"][0]["reason"] == "FieldValueNotSupported"
    assert await names(store) == ["keep"]
    ok = await client.delete(f"{SECRETS}/keep?propagationPolicy=Background")
    assert ok.status_code == 200 and await names(store) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "limit=999999999999999999999999",
            'strconv.ParseInt: parsing "999999999999999999999999": value out of range',
        ),
        ("limit=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("timeoutSeconds=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        (
            "resourceVersion=abc&limit=5",
            'invalid resource version: resourceVersion: Invalid value: "abc": '
            'strconv.ParseUint: parsing "abc": invalid syntax',
        ),
        (
            "resourceVersion=abc",
            'invalid resource version: resourceVersion: Invalid value: "abc": '
            'strconv.ParseUint: parsing "abc": invalid syntax',
        ),
        (
            "continue=x&resourceVersion=5",
            "specifying resource version is not allowed when using continue",
        ),
    ],
)
async def test_malformed_list_options_are_400_with_gos_conversion_error(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    r = await client.get(f"{SECRETS}?{query}")
    assert_status(r.json(), code=400, reason="BadRequest")
    assert r.json()["message"] == message


async def test_a_watch_resource_version_beyond_uint64_is_422_never_500(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{SECRETS}?watch=true&resourceVersion=99999999999999999999")
    assert_status(r.json(), code=422, reason="Invalid")
    assert r.json()["message"] == (
        'secrets "" is invalid: resourceVersion: Invalid value: "99999999999999999999": '
        'strconv.ParseUint: parsing "99999999999999999999": value out of range'
    )


async def test_resource_version_match_rules_are_422(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{SECRETS}?resourceVersionMatch=Exact")
    assert_status(r.json(), code=422, reason="Invalid")
    assert r.json()["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden unless resourceVersion is provided"
    )
    r = await client.get(f"{SECRETS}?resourceVersion=1&resourceVersionMatch=Sometimes")
    assert r.json()["message"].endswith(
        'resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", '
        '"NotOlderThan", ""'
    )


@pytest.mark.parametrize("value", ["", "yes", "TRUE", "1"])
async def test_watch_is_true_for_anything_but_0_or_false_even_empty(
    client: httpx.AsyncClient, value: str
) -> None:
    r = await client.get(f"{SECRETS}?watch={value}&timeoutSeconds=1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert '"kind":"SecretList"' not in r.text  # a (short, empty) stream, not a list


@pytest.mark.parametrize("value", ["0", "false", "FALSE"])
async def test_watch_false_values_list(client: httpx.AsyncClient, value: str) -> None:
    r = await client.get(f"{SECRETS}?watch={value}")
    assert r.json()["kind"] == "SecretList"


async def test_limit_minus_one_lists_everything(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post(SECRETS, json=secret(f"s{i}"))
    r = await client.get(f"{SECRETS}?limit=-1")
    assert len(r.json()["items"]) == 3 and "continue" not in r.json()["metadata"]


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", SECRETS, "CreateOptions"),
        ("PUT", f"{SECRETS}/s1", "UpdateOptions"),
        ("PATCH", f"{SECRETS}/s1", "PatchOptions"),
        ("DELETE", f"{SECRETS}/s1", "DeleteOptions"),
    ],
)
async def test_a_bad_dry_run_is_422_and_writes_nothing(
    client: httpx.AsyncClient, store: ObjectStore, method: str, path: str, kind: str
) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    before = await store.datastore.revision()
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    body: Any = {} if method == "PATCH" else secret("s1", a="2")
    content = b"" if method == "DELETE" else json.dumps(body).encode()
    r = await client.request(method, f"{path}?dryRun=Sometimes", content=content, headers=headers)
    assert_status(r.json(), code=422, reason="Invalid")
    assert r.json()["message"] == (
        f'{kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{{"Sometimes"}}: '
        'supported values: "All"'
    )
    assert await store.datastore.revision() == before


async def test_a_delete_body_that_is_not_delete_options_is_400(
    client: httpx.AsyncClient, store: ObjectStore
) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    r = await client.request("DELETE", f"{SECRETS}/s1", json=secret("s1"))
    assert_status(r.json(), code=400, reason="BadRequest")
    assert await names(store) == ["s1"]


async def test_a_malformed_resource_version_on_put_is_400_not_409(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SECRETS, json=secret("s1", a="1"))
    body = secret("s1", a="2")
    body["metadata"]["resourceVersion"] = "abc"
    r = await client.put(f"{SECRETS}/s1", json=body)
    assert_status(r.json(), code=400, reason="BadRequest")
    assert r.json()["message"] == (
        'metadata.resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": '
        "invalid syntax"
    )


async def test_deeply_nested_json_is_400(client: httpx.AsyncClient) -> None:
    nested = b'{"apiVersion":"v1","kind":"Secret","metadata":' + b"[" * 100_000 + b"]" * 100_000
    r = await client.post(
        SECRETS, content=nested + b"}", headers={"Content-Type": "application/json"}
    )
    assert_status(r.json(), code=400, reason="BadRequest")
    r = await client.patch(
        f"{SECRETS}/x",
        content=b"[" * 100_000,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 400


async def test_a_body_over_3_mib_is_413_with_connection_close(
    client: httpx.AsyncClient, store: ObjectStore
) -> None:
    big = b"x" * (MAX_REQUEST_BODY_BYTES + 1)
    r = await client.post(SECRETS, content=big, headers={"Content-Type": "application/json"})
    assert_status(r.json(), code=413, reason="RequestEntityTooLarge")
    assert r.json()["message"] == "Request entity too large: limit is 3145728"
    assert r.headers["connection"] == "close"
    assert await names(store) == []


async def test_a_client_that_goes_away_mid_body_costs_one_log_line(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """ASGI: the body arrives in part, then the server hears ``http.disconnect``."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"apiVersion":"v1",', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": SECRETS,
        "raw_path": SECRETS.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "server": ("kcrypt.test", 80),
        "client": ("127.0.0.1", 1234),
    }
    with caplog.at_level(logging.DEBUG, logger="kcrypt"):
        await app(scope, receive, send)
    lines = [r for r in caplog.records if r.name.startswith("kcrypt") and r.levelno >= logging.INFO]
    assert [r.getMessage() for r in lines] == [
        f"client went away while sending the request body: POST {SECRETS} (19 bytes received)"
    ]
    assert not any(r.exc_info for r in caplog.records)
