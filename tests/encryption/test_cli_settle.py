"""Stage commands wait, bounded, until every live server applied the cluster's config."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kcrypt.cli import client as client_mod
from kcrypt.cli.main import cli


def row(name: str, *, applied: bool, state: str = "live") -> dict[str, Any]:
    return {"name": name, "state": state, "stage": "prepare", "hash": "h", "applied": applied}


def fake(
    monkeypatch: pytest.MonkeyPatch,
    statuses: list[list[dict[str, Any]]],
    *,
    revision: int = 0,
    progress: bool = True,
) -> list[str]:
    """A supervisor whose status shows ``statuses`` in turn (the last one forever);
    with ``revision``, its progress endpoint long-polls (and answers at once, as if
    a server's record had just changed); without, it is an older server's; with
    ``progress=False`` it refuses progress, as a custom-config server does."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/progress"):
            seen.append(f"progress {request.url.query.decode()}".strip())
            if not progress:
                refusal = {"kind": "Status", "code": 400, "message": "not managed here"}
                return httpx.Response(400, json=refusal)
            doc: dict[str, Any] = {"generation": 1, "job": None}
            if revision:
                doc["revision"] = revision
            return httpx.Response(200, json=doc)
        seen.append(request.method)
        if request.method == "PUT":
            return httpx.Response(200, json={"message": "ok", "configHash": "abc"})
        servers = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        doc = {"stage": "prepare", "activekey": "AES-CBC k", "enable": True}
        return httpx.Response(200, json={**doc, "servers": servers, "configHash": "abcdef"})

    original = client_mod.SupervisorClient.__init__

    def init(self: Any, conn: Any, **kw: Any) -> None:
        original(self, conn, transport=httpx.MockTransport(handler))

    monkeypatch.setattr(client_mod.SupervisorClient, "__init__", init)
    monkeypatch.setattr("kcrypt.cli.secrets_encrypt.POLL_SECONDS", 0.01)
    return seen


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["secrets-encrypt", *args, "--token", "t"])


def test_prepare_returns_once_every_live_server_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake(
        monkeypatch,
        [
            [row("s1", applied=True), row("s2", applied=False), row("s3", applied=False)],
            [row("s1", applied=True), row("s2", applied=True), row("s3", applied=False)],
            [row("s1", applied=True), row("s2", applied=True), row("s3", applied=True)],
        ],
    )
    out = run("prepare")
    assert out.exit_code == 0, out.output
    assert out.stdout == "prepare completed successfully\n"
    assert "waiting for servers to apply config abcdef: 1/3 live servers applied" in out.stderr
    assert [s for s in seen if not s.startswith("progress")] == ["PUT", "GET", "GET", "GET"]


def test_a_long_polling_server_is_asked_to_answer_on_the_next_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = fake(
        monkeypatch,
        [
            [row("s1", applied=True), row("s2", applied=False)],
            [row("s1", applied=True), row("s2", applied=True)],
        ],
        revision=7,
    )
    monkeypatch.setattr("kcrypt.cli.secrets_encrypt.POLL_SECONDS", 60.0)  # never slept on
    out = run("prepare")
    assert out.exit_code == 0, out.output
    assert seen == [
        "PUT",
        "progress",
        "GET",
        "progress afterRevision=7&timeoutSeconds=5",
        "progress",
        "GET",
    ]


def test_a_server_without_progress_is_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake(
        monkeypatch,
        [
            [row("s1", applied=True), row("s2", applied=False)],
            [row("s1", applied=True), row("s2", applied=True)],
        ],
        progress=False,
    )
    out = run("prepare")
    assert out.exit_code == 0, out.output
    assert [s for s in seen if not s.startswith("progress")] == ["PUT", "GET", "GET"]


def test_a_down_server_does_not_block(monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, [[row("s1", applied=True), row("s3", applied=False, state="down")]])
    assert run("prepare").exit_code == 0


def test_the_wait_is_bounded_and_names_the_lagging_server(monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, [[row("s1", applied=True), row("s2", applied=False)]])
    out = run("rotate", "--timeout", "0.2")
    assert out.exit_code == 1
    assert (
        "Error: servers did not apply the new config within 0.2s: s2 (the change is saved; "
        "see 'secrets-encrypt status')"
    ) in out.output
