"""Bad input gets a clear error and the server keeps serving."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from .harness import KcryptServer, Kubectl, free_port, kcrypt_command


def test_a_malformed_json_body_is_bad_request(encrypted_server: KcryptServer) -> None:
    with encrypted_server.client() as client:
        r = client.post(
            "/api/v1/namespaces/default/secrets",
            content=b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 400, r.text
        status = r.json()
        assert status["kind"] == "Status" and status["reason"] == "BadRequest"
        assert client.get("/readyz").status_code == 200


def test_a_malformed_protobuf_body_is_bad_request(encrypted_server: KcryptServer) -> None:
    with encrypted_server.client() as client:
        r = client.post(
            "/api/v1/namespaces/default/secrets",
            content=b"k8s\x00\x0a\xff\xff\xff",
            headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["reason"] == "BadRequest"


def test_unknown_fields_are_refused_with_strict_field_validation(
    encrypted_server: KcryptServer, kubectl: Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: strict\nbogus: 1\nstringData:\n  a: b\n"
    )
    err = kubectl.fail("create", "-f", str(manifest))
    assert 'unknown field "bogus"' in err
    with encrypted_server.client() as client:
        r = client.post(
            "/api/v1/namespaces/default/secrets?fieldValidation=Strict",
            json={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "bogus": 1},
        )
        assert r.status_code == 400 and 'unknown field "bogus"' in r.json()["message"]
        assert client.get("/api/v1/namespaces/default/secrets/s").status_code == 404


def test_a_wrong_token_is_unauthorized_everywhere(
    encrypted_server: KcryptServer, tmp_path: Path
) -> None:
    doc = yaml.safe_load(encrypted_server.kubeconfig.read_text())
    doc["users"][0]["user"]["token"] = "not-the-token"
    wrong = tmp_path / "wrong.kubeconfig"
    wrong.write_text(yaml.safe_dump(doc))
    err = Kubectl(wrong, tmp_path / "cache").fail("get", "secrets")
    assert "You must be logged in to the server" in err
    for path in ("/api/v1/secrets", "/metrics", "/readyz", "/version"):
        with encrypted_server.client(token="not-the-token") as client:
            assert client.get(path).status_code == 401, path


def run_kcrypt_server(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *kcrypt_command(),
            "server",
            "--data-dir",
            str(tmp_path / "data"),
            "--https-listen-port",
            str(free_port()),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_an_invalid_config_file_at_start_stops_the_server_with_its_message(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
        "resources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n"
        "      - name: k1\n        secret: c2hvcnQ=\n"
    )
    proc = run_kcrypt_server(tmp_path, "--encryption-provider-config", str(bad))
    assert proc.returncode == 1
    assert str(bad) in proc.stderr
    assert "secret is not of the expected length" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "c2hvcnQ=" not in proc.stderr


def test_a_missing_config_file_at_start_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    proc = run_kcrypt_server(tmp_path, "--encryption-provider-config", str(missing))
    assert proc.returncode == 1
    assert str(missing) in proc.stderr and "no such file or directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_different_token_than_the_stored_one_is_refused(tmp_path: Path) -> None:
    stored = tmp_path / "data" / "server" / "token"
    stored.parent.mkdir(parents=True)
    stored.write_text("first-token-0123456789\n")
    proc = run_kcrypt_server(tmp_path, "--token", "second-token-0123456789")
    assert proc.returncode == 1
    assert "does not match the token stored in" in proc.stderr
    assert "first-token" not in proc.stderr


def test_secrets_encryption_and_a_custom_config_together_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("kind: EncryptionConfiguration\n")
    proc = run_kcrypt_server(
        tmp_path, "--secrets-encryption", "--encryption-provider-config", str(cfg)
    )
    assert proc.returncode == 1
    assert "do not combine it with --encryption-provider-config" in proc.stderr


def test_etcd_tls_files_with_a_sqlite_audit_are_refused_not_ignored(tmp_path: Path) -> None:
    """A CA file given with a SQLite path means the operator meant another datastore."""
    ca = tmp_path / "ca.crt"
    ca.write_text("not used\n")
    db = tmp_path / "state.db"
    for argv in (
        ["audit", "--datastore", str(db), "--etcd-cafile", str(ca)],
        ["audit", "--etcd-cafile", str(ca)],
        [
            "decrypt",
            "/registry/secrets/default/x",
            "--datastore",
            str(db),
            "--etcd-cafile",
            str(ca),
        ],
    ):
        proc = subprocess.run(
            [*kcrypt_command(), *argv], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith(
            "Error: --etcd-cafile, --etcd-certfile and --etcd-keyfile are for an etcd datastore"
        ), last
    assert not db.exists()  # nothing was opened, let alone created
