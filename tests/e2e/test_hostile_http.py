"""Hostile requests against the real server (uvicorn over TLS), as issue 9 found them.

Raw TLS sockets where httpx would not misbehave on purpose: a 50 MiB body, a
chunked body cut short, a WebSocket upgrade with no token, a flood of wrong
tokens; and the anonymous health probes kube-apiserver allows.
"""

from __future__ import annotations

import socket
import ssl
import time

import httpx

from .harness import KcryptServer, wait_until


def tls(server: KcryptServer) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(server.ca_file))
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_all(sock: ssl.SSLSocket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def head(server: KcryptServer, method: str, path: str, *extra: str, token: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *extra]
    if token:
        lines.append(f"Authorization: Bearer {server.token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_50_mib_body_is_refused_with_413_before_it_is_read(
    encrypted_server: KcryptServer,
) -> None:
    with tls(encrypted_server) as sock:
        sock.sendall(
            head(
                encrypted_server,
                "POST",
                "/api/v1/namespaces/default/secrets",
                "Content-Type: application/json",
                f"Content-Length: {50 * 1024 * 1024}",
            )
        )
        sock.sendall(b"{" + b" " * 1023)  # 1 KiB of the promised 50 MiB, then nothing
        answer = read_all(sock)  # the server answers and closes without waiting for the rest
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"connection: close" in rest.lower()
    assert b'"message":"Request entity too large: limit is 3145728"' in rest
    assert b'"reason":"RequestEntityTooLarge"' in rest


def test_a_truncated_chunked_body_costs_one_log_line(encrypted_server: KcryptServer) -> None:
    before = encrypted_server.log()
    with tls(encrypted_server) as sock:
        sock.sendall(
            head(
                encrypted_server,
                "POST",
                "/api/v1/namespaces/default/configmaps",
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
        )
        sock.sendall(b'10\r\n{"apiVersion":1,\r\n')  # one chunk, then the client is gone
    added = wait_until(
        lambda: (new := encrypted_server.log()[len(before) :]) and "went away" in new and new
    )
    assert (
        "client went away while sending the request body: POST /api/v1/namespaces/default/" in added
    )
    assert "Traceback" not in added and "ERROR" not in added


def test_a_websocket_upgrade_without_the_token_is_refused(encrypted_server: KcryptServer) -> None:
    with tls(encrypted_server) as sock:
        sock.sendall(
            head(
                encrypted_server,
                "GET",
                "/api/v1/namespaces/default/secrets?watch=true",
                "Connection: Upgrade",
                "Upgrade: websocket",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                token=False,
            )
        )
        answer = sock.recv(65536)
    status = answer.split(b"\r\n", 1)[0]
    assert status in (b"HTTP/1.1 401 Unauthorized", b"HTTP/1.1 403 Forbidden"), answer
    assert b"101" not in status


def test_a_flood_of_wrong_tokens_does_not_flood_the_log(encrypted_server: KcryptServer) -> None:
    before = encrypted_server.log().count("unauthenticated request")
    with encrypted_server.client(token="not-the-token") as client:
        for _ in range(200):
            assert client.get("/api/v1/secrets").status_code == 401
    time.sleep(0.5)
    assert encrypted_server.log().count("unauthenticated request") - before <= 1


def test_probes_answer_anonymous_clients_without_details(encrypted_server: KcryptServer) -> None:
    anonymous = httpx.Client(
        base_url=encrypted_server.url,
        verify=ssl.create_default_context(cafile=str(encrypted_server.ca_file)),
    )
    with anonymous:
        for path in ("/healthz", "/livez", "/readyz", "/readyz/datastore"):
            r = anonymous.get(path)
            assert (r.status_code, r.text) == (200, "ok"), path
        assert anonymous.get("/readyz?verbose").text == "ok"
        version = anonymous.get("/version").json()
        assert version["gitVersion"].startswith("v1.32.0+kcrypt-")
        for path in ("/api", "/metrics", "/api/v1/secrets", "/v1-kcrypt/encrypt/status"):
            assert anonymous.get(path).status_code == 401, path
        assert anonymous.post("/readyz").status_code == 401
    with encrypted_server.client() as admin:
        verbose = admin.get("/readyz?verbose").text
    # kube-apiserver with an encryption config file reloaded automatically has the
    # kms-providers check (ok with no KMS provider configured)
    assert verbose == "[+]ping ok\n[+]datastore ok\n[+]kms-providers ok\nreadyz check passed\n"
