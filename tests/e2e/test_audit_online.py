"""``kcrypt audit`` against a running server: the same report, computed by the server."""

from __future__ import annotations

from .harness import KcryptServer, Kubectl
from .snapshot_support import kcrypt, online_audit


def test_the_online_audit_reports_every_secret_under_the_write_key(
    encrypted_server: KcryptServer, kubectl: Kubectl
) -> None:
    for i in range(3):
        kubectl.run("create", "secret", "generic", f"audited-{i}", f"--from-literal=v={i}")
    code, doc = online_audit(encrypted_server)
    assert code == 0, doc
    (row,) = [r for r in doc["rows"] if r["resource"] == "secrets" and r["count"]]
    assert (row["provider"], row["key"], row["write"]) == ("aescbc", "aescbckey", True)
    assert row["count"] >= 3 and row["stale"] == row["undecryptable"] == 0
    assert doc["left"] is False

    no_token = kcrypt("audit", "--server", encrypted_server.url, "--token", "wrong", check=False)
    assert no_token.returncode == 1 and no_token.stderr.startswith("Error: ")
