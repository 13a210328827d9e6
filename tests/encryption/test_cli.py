"""``kcrypt secrets-encrypt`` on a fake supervisor: k3s bodies out, k3s text in, real errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kcrypt.cli import client as client_mod
from kcrypt.cli.main import cli

STATUS = {
    "stage": "start",
    "activekey": "AES-CBC aescbckey",
    "enable": True,
    "hashmatch": True,
}


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=STATUS)
        body = json.loads(request.content)
        if body.get("stage") == "rotate":
            return httpx.Response(
                400,
                json={
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "message": "incorrect stage: start found on node node-1",
                    "code": 400,
                },
            )
        if body.get("dryRun"):
            return httpx.Response(
                200, json={"dryRun": True, "stage": "prepare", "config": "{redacted}"}
            )
        return httpx.Response(200, json={"message": "ok"})

    original = client_mod.SupervisorClient.__init__

    def init(self: Any, conn: Any, **kw: Any) -> None:
        original(self, conn, transport=httpx.MockTransport(handler))

    monkeypatch.setattr(client_mod.SupervisorClient, "__init__", init)
    return seen


def run(*args: str) -> Any:
    return CliRunner().invoke(
        cli, ["secrets-encrypt", *args, "--token", "t0k"], catch_exceptions=False
    )


def test_status_text_is_k3s_layout(supervisor: list[httpx.Request]) -> None:
    out = run("status")
    assert out.exit_code == 0
    assert out.output.splitlines() == [
        "Encryption Status: Enabled",
        "Current Rotation Stage: start",
        "Server Encryption Hashes: All hashes match",
        "",
        "Active  Key Type  Name",
        "------  --------  ----",
        " *      AES-CBC   aescbckey",
        "",
    ]
    assert supervisor[0].url.path == "/v1-kcrypt/encrypt/status"
    assert supervisor[0].headers["authorization"] == "Bearer t0k"


def test_status_json(supervisor: list[httpx.Request]) -> None:
    out = run("status", "-o", "json")
    assert json.loads(out.output) == STATUS
    assert out.output.startswith('{\n\t"stage": "start",')


def test_prepare_sends_k3s_body_and_prints_k3s_line(supervisor: list[httpx.Request]) -> None:
    out = run("prepare", "-f")
    assert out.exit_code == 0 and out.output == "prepare completed successfully\n"
    req = supervisor[0]
    assert req.method == "PUT" and req.url.path == "/v1-kcrypt/encrypt/config"
    assert req.content == b'{"stage":"prepare","force":true,"skip":false}'


def test_the_real_server_error_is_shown(supervisor: list[httpx.Request]) -> None:
    out = run("rotate")
    assert out.exit_code == 1
    assert out.output == "Error: incorrect stage: start found on node node-1\n"
    assert "see server log" not in out.output


def test_dry_run_prints_the_config(supervisor: list[httpx.Request]) -> None:
    out = run("prepare", "--dry-run")
    assert out.exit_code == 0 and "{redacted}" in out.output
    assert json.loads(supervisor[0].content)["dryRun"] is True


def test_missing_token_file_is_explained(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        cli, ["secrets-encrypt", "status", "-d", str(tmp_path)], env={"KCRYPT_TOKEN": ""}
    )
    assert out.exit_code == 1
    assert f"no --token given and cannot read {tmp_path}/server/token" in out.output


def test_a_server_that_dies_mid_answer_is_named_as_gone(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body", request=request
        )

    conn = client_mod.Connection(server="https://127.0.0.1:6443", token="t", verify=True)
    with (
        client_mod.SupervisorClient(conn, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(client_mod.SupervisorError) as info,
    ):
        client.progress(after=7, wait=5)
    assert str(info.value).startswith(
        "https://127.0.0.1:6443/v1-kcrypt/encrypt/progress: disconnected: the server closed "
        "the connection before it answered (peer closed connection"
    )
