"""The admin kubeconfig: server URL, CA data and token, as kubectl reads it."""

from __future__ import annotations

import base64

import pytest
import yaml

from kcrypt.server.kubeconfig import kubeconfig_server_url, render_kubeconfig


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1", "https://127.0.0.1:6443"),
        ("0.0.0.0", "https://127.0.0.1:6443"),
        ("::", "https://[::1]:6443"),
        ("10.0.0.5", "https://10.0.0.5:6443"),
    ],
)
def test_the_server_url_is_reachable_from_this_machine(bind: str, url: str) -> None:
    assert kubeconfig_server_url(bind, 6443) == url


def test_the_kubeconfig_carries_ca_data_and_bearer_token() -> None:
    doc = yaml.safe_load(
        render_kubeconfig(server_url="https://127.0.0.1:1", ca_pem=b"PEM", token="tok")
    )
    assert doc["current-context"] == "default"
    cluster = doc["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"PEM"
    assert cluster["server"] == "https://127.0.0.1:1"
    assert doc["users"][0]["user"] == {"token": "tok"}
