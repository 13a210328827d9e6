"""The real kubectl against ``kcrypt server`` (SQLite, --secrets-encryption)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import yaml

from .harness import JsonStream, KcryptServer, Kubectl, sqlite_raw

AESCBC_PREFIX = b"k8s:enc:aescbc:v1:aescbckey:"


def db_of(server: KcryptServer) -> Path:
    return server.data_dir / "server" / "db" / "state.db"


def test_create_from_literal_and_from_file_then_get_as_yaml_and_json(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    assert "secret/lit created" in kubectl.run(
        "create",
        "secret",
        "generic",
        "lit",
        "--from-literal=user=admin",
        "--from-literal=password=s3cr3t-literal",
    )
    cert = tmp_path / "tls.pem"
    cert.write_bytes(b"-----BEGIN CERT-----\nfile-content-xyz\n")
    assert "secret/fromfile created" in kubectl.run(
        "create", "secret", "generic", "fromfile", f"--from-file=cert={cert}", "-n", "kube-system"
    )
    doc = yaml.safe_load(kubectl.run("get", "secret", "lit", "-o", "yaml"))
    assert doc["kind"] == "Secret" and doc["type"] == "Opaque"
    assert base64.b64decode(doc["data"]["password"]) == b"s3cr3t-literal"
    assert doc["metadata"]["namespace"] == "default"
    assert doc["metadata"]["resourceVersion"]
    other = kubectl.json("get", "secret", "fromfile", "-n", "kube-system")
    assert base64.b64decode(other["data"]["cert"]) == cert.read_bytes()


def test_get_all_namespaces_prints_a_table_with_type_and_data(kubectl: Kubectl) -> None:
    kubectl.run("create", "secret", "generic", "tbl", "--from-literal=a=1", "--from-literal=b=2")
    out = kubectl.run("get", "secrets", "-A")
    header, *rows = out.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "TYPE", "DATA", "AGE"]
    row = next(r.split() for r in rows if r.split()[1] == "tbl")
    assert row[:4] == ["default", "tbl", "Opaque", "2"]


def test_values_are_encrypted_with_aescbckey_in_sqlite_and_configmaps_stay_plain(
    encrypted_server: KcryptServer, kubectl: Kubectl
) -> None:
    kubectl.run("create", "secret", "generic", "raw", "--from-literal=pw=plain-text-marker-42")
    kubectl.run("create", "configmap", "cm-raw", "--from-literal=k=configmap-marker-42")
    raw = sqlite_raw(db_of(encrypted_server), "/registry/secrets/default/raw")
    assert raw is not None and raw.startswith(AESCBC_PREFIX)
    assert b"plain-text-marker-42" not in raw and b"raw" not in raw[len(AESCBC_PREFIX) :]
    cm = sqlite_raw(db_of(encrypted_server), "/registry/configmaps/default/cm-raw")
    assert cm is not None and cm.startswith(b"k8s\x00") and b"configmap-marker-42" in cm


def test_apply_twice_then_replace_patch_label_and_delete(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "s.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\nstringData:\n  user: root\n"
    )
    assert "secret/applied created" in kubectl.run("apply", "-f", str(manifest))
    manifest.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\nstringData:\n  user: admin\n"
    )
    assert "secret/applied configured" in kubectl.run("apply", "-f", str(manifest))
    got = kubectl.json("get", "secret", "applied")
    assert base64.b64decode(got["data"]["user"]) == b"admin"
    assert "kubectl.kubernetes.io/last-applied-configuration" in got["metadata"]["annotations"]

    got["data"]["extra"] = base64.b64encode(b"replaced").decode()
    assert "secret/applied replaced" in kubectl.run("replace", "-f", "-", input=json.dumps(got))

    kubectl.run("patch", "secret", "applied", "-p", '{"stringData":{"patched":"yes"}}')
    kubectl.run(
        "patch",
        "secret",
        "applied",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/data/extra"}]',
    )
    assert "secret/applied labeled" in kubectl.run("label", "secret", "applied", "tier=db")
    got = kubectl.json("get", "secret", "applied")
    assert {k: base64.b64decode(v) for k, v in got["data"].items()} == {
        "user": b"admin",
        "patched": b"yes",
    }
    assert got["metadata"]["labels"] == {"tier": "db"}
    assert kubectl.run("get", "secrets", "-l", "tier=db", "-o", "name").split() == [
        "secret/applied"
    ]

    assert 'secret "applied" deleted' in kubectl.run("delete", "secret", "applied")
    assert "NotFound" in kubectl.fail("get", "secret", "applied")


def test_get_watch_sees_a_change_made_by_another_client(
    encrypted_server: KcryptServer, kubectl: Kubectl
) -> None:
    kubectl.run("create", "secret", "generic", "watched", "--from-literal=v=1")
    watcher = kubectl.popen("get", "secret", "watched", "-w", "-o", "json")
    stream = JsonStream(watcher)
    try:
        assert stream.next()["metadata"]["name"] == "watched"
        time.sleep(0.5)  # let the watch request reach the server before the change
        with encrypted_server.client() as client:
            patch = client.patch(
                "/api/v1/namespaces/default/secrets/watched",
                content=json.dumps({"metadata": {"labels": {"changed": "by-httpx"}}}),
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert patch.status_code == 200, patch.text
        assert stream.next()["metadata"]["labels"] == {"changed": "by-httpx"}
    finally:
        stream.close()


def test_the_log_holds_no_secret_values_keys_or_token(encrypted_server: KcryptServer) -> None:
    config = json.loads(
        (encrypted_server.data_dir / "server" / "cred" / "encryption-config.json").read_text()
    )
    key = config["resources"][0]["providers"][0]["aescbc"]["keys"][0]["secret"]
    log = encrypted_server.log()
    assert "Wrote kubeconfig" in log
    for leak in (key, encrypted_server.token, "s3cr3t-literal", "plain-text-marker-42"):
        assert leak not in log
