"""RKE style: the state file travels inside the snapshot and comes back out.

A kcrypt server runs as RKE runs kube-apiserver: ``--encryption-provider-config``
pointing at the file the cluster state's ``desiredState.encryptionConfig``
renders. The seed's rotation case: snapshot, rotate (new key, every secret
rewritten, old key dropped from the state), restore with ``kcrypt etcd
snapshot-restore``; the state file comes back out of the archive with both
keys, and once deployed every secret reads back through kubectl.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import yaml

from .harness import KcryptServer, Kubectl
from .secrets_support import check_readback, create_with_kubectl, secret_set
from .snapshot_support import kcrypt
from .test_rotation import write_and_wait_for_reload

OLD = base64.b64encode(os.urandom(32)).decode()
NEW = base64.b64encode(os.urandom(32)).decode()


def rendered(*keys: tuple[str, str]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "EncryptionConfiguration",
            "resources": [
                {
                    "resources": ["secrets"],
                    "providers": [
                        {"aescbc": {"keys": [{"name": n, "secret": s} for n, s in keys]}},
                        {"identity": {}},
                    ],
                }
            ],
        },
        sort_keys=False,
    )


def write_state(path: Path, config: str) -> None:
    doc = {
        "desiredState": {"encryptionConfig": config},
        "currentState": {"encryptionConfig": config},
    }
    path.write_text(json.dumps(doc))


def test_the_state_file_comes_back_out_of_the_snapshot_with_every_key(tmp_path: Path) -> None:
    data = tmp_path / "node" / "data"
    data.mkdir(parents=True)
    api_config = tmp_path / "node" / "encryption.yaml"
    api_config.write_text(rendered(("k-old", OLD)))
    db = data / "server" / "db" / "state.db"
    cluster_yml = tmp_path / "cluster.yml"
    cluster_yml.write_text(
        yaml.safe_dump(
            {
                "nodes": [{"address": "127.0.0.1", "role": ["controlplane", "etcd"]}],
                "services": {
                    "etcd": {"external_urls": [f"sqlite://{db}"]},
                    "kube-api": {"secrets_encryption_config": {"enabled": True}},
                },
            }
        )
    )
    state = tmp_path / "cluster.rkestate"
    write_state(state, rendered(("k-old", OLD)))
    args = ["--encryption-provider-config", str(api_config), "--reload-interval", "0.2"]
    server = KcryptServer(data, args=args).start()
    kubectl = Kubectl(server.kubeconfig, tmp_path / "cache")
    secrets = secret_set(8, tag="rke")
    try:
        create_with_kubectl(kubectl, secrets)
        out = kcrypt("etcd", "snapshot-save", "--config", str(cluster_yml), "--name", "before")
        assert "Snapshot before saved" in out.stdout
        # what a key rotation leaves: every secret under k-new, k-old gone from the state
        write_and_wait_for_reload(server, api_config, rendered(("k-old", OLD), ("k-new", NEW)))
        write_and_wait_for_reload(server, api_config, rendered(("k-new", NEW), ("k-old", OLD)))
        kubectl.run("replace", "-f", "-", input=kubectl.run("get", "secrets", "-A", "-o", "json"))
        write_and_wait_for_reload(server, api_config, rendered(("k-new", NEW)))
        write_state(state, rendered(("k-new", NEW)))
    finally:
        server.stop()

    # withheld: the local state alone (no archive state) lacks k-old -> refused, by name
    refused = kcrypt(
        "etcd",
        "snapshot-restore",
        "--config",
        str(cluster_yml),
        "--name",
        "before",
        "--use-local-state",
        check=False,
    )
    assert refused.returncode == 1
    assert "aescbc key 'k-old' (fingerprint sha256:" in refused.stderr
    assert "needed by 8 values" in refused.stderr

    out = kcrypt("etcd", "snapshot-restore", "--config", str(cluster_yml), "--name", "before.zip")
    assert "State file is successfully extracted from snapshot [before]" in out.stderr
    assert "Keys added read-only for the restored data: k-old" in out.stdout
    restored = json.loads(state.read_text())
    assert restored["currentState"] == {}
    config = restored["desiredState"]["encryptionConfig"]
    keys = yaml.safe_load(config)["resources"][0]["providers"][0]["aescbc"]["keys"]
    assert [k["name"] for k in keys] == ["k-new", "k-old"]  # k-new writes; k-old reads
    assert state.stat().st_mode & 0o777 == 0o600

    api_config.write_text(config)  # what `kcrypt up` deploys to every API server
    server = KcryptServer(data, args=args, port=server.port).start()
    try:
        check_readback(Kubectl(server.kubeconfig, tmp_path / "cache2"), secrets)
    finally:
        server.stop()
