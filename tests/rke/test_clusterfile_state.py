"""cluster.yml parsing and cluster.rkestate, without servers."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from kcrypt.passphrase import is_sealed
from kcrypt.rke.clusterfile import DEFAULT_CONFIG_PATH, parse_cluster
from kcrypt.rke.desired import Current, desired_config
from kcrypt.rke.errors import ClusterFileError, Refused, StateFileError
from kcrypt.rke.keys import ALPHABET, new_key_name
from kcrypt.rke.state import StateFile

#: An RKE v1 state file as RKE writes it after enabling managed encryption (the
#: key is the RKE docs' example; certificatesBundle trimmed to one entry).
RKE_STATE = {
    "desiredState": {
        "rkeConfig": {
            "nodes": [{"address": "10.0.0.1", "role": ["controlplane", "etcd"]}],
            "services": {"kubeApi": {"secretsEncryptionConfig": {"enabled": True}}},
        },
        "certificatesBundle": {"kube-ca": {"certificatePEM": "-----BEGIN CERTIFICATE-----"}},
        "encryptionConfig": "apiVersion: apiserver.config.k8s.io/v1\n"
        "kind: EncryptionConfiguration\n"
        "resources:\n- resources:\n  - secrets\n  providers:\n  - aescbc:\n      keys:\n"
        "      - name: k-fw5hn\n        secret: RTczRjFDODMwQzAyMDVBREU4NDJBMUZFNDhCNzM5N0I=\n"
        "  - identity: {}",
    },
}
RKE_STATE["currentState"] = json.loads(json.dumps(RKE_STATE["desiredState"]))


def parse(doc: dict[str, object], tmp: Path) -> object:
    return parse_cluster(doc, path=tmp / "cluster.yml")


def test_rke_node_shape_and_defaults(tmp_path: Path) -> None:
    spec = parse_cluster(
        {
            "nodes": [
                {
                    "address": "10.0.0.1",
                    "port": "2222",
                    "user": "ubuntu",
                    "role": ["controlplane"],
                    "ssh_key_path": "~/.ssh/id_ed25519",
                    "hostname_override": "cp1",
                    "docker_socket": "/var/run/docker.sock",
                },
                {"address": "10.0.0.2", "role": ["worker"]},
            ],
            "ignore_docker_version": True,
        },
        path=tmp_path / "cluster.yml",
    )
    (node,) = spec.nodes  # workers are not touched
    assert (node.name, node.port, node.user) == ("cp1", 2222, "ubuntu")
    assert node.api_server_url == "https://10.0.0.1:6443"
    assert node.config_path == DEFAULT_CONFIG_PATH == "/etc/kubernetes/ssl/encryption.yaml"
    assert node.kubeconfig == tmp_path / "kube_config_cluster.yml"
    assert spec.state_path == tmp_path / "cluster.rkestate"
    assert spec.ignored == ("ignore_docker_version", "nodes[].docker_socket")


def test_kcrypt_blocks_override_per_cluster_then_per_node(tmp_path: Path) -> None:
    spec = parse_cluster(
        {
            "kcrypt": {
                "api_server_port": 7443,
                "encryption_config_path": "/etc/enc.yaml",
                "restart_command": "systemctl restart kube-apiserver",
            },
            "nodes": [
                {"address": "a", "role": ["controlplane"]},
                {
                    "address": "b",
                    "role": ["controlplane"],
                    "kcrypt": {
                        "api_server_url": "https://lb:9443",
                        "restart_command": "",
                        "local": True,
                    },
                },
            ],
        },
        path=tmp_path / "cluster.yml",
    )
    a, b = spec.nodes
    assert (a.api_server_url, a.config_path, a.restart_command) == (
        "https://a:7443",
        "/etc/enc.yaml",
        "systemctl restart kube-apiserver",
    )
    assert (b.api_server_url, b.restart_command, b.local) == ("https://lb:9443", None, True)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"nodes": [{"role": ["controlplane"]}]}, "nodes[0].address: a node needs an address"),
        ({"kcrypt": {"rewrite": {"workers": 3}}}, "kcrypt.rewrite.workers: unknown field"),
        (
            {"services": {"kube-api": {"secrets_encryption_config": {"enable": True}}}},
            "services.kube-api.secrets_encryption_config.enable: unknown field",
        ),
        (
            {"services": {"kube-api": {"secrets_encryption_config": {"enabled": "yes"}}}},
            "services.kube-api.secrets_encryption_config.enabled: must be true or false",
        ),
        ({"rotate_encryption_keys": True}, "rotate_encryption_keys: unknown field"),
    ],
)
def test_bad_cluster_yml_is_named(tmp_path: Path, doc: dict[str, object], message: str) -> None:
    with pytest.raises(ClusterFileError) as err:
        parse_cluster(doc, path=tmp_path / "cluster.yml")
    assert str(err.value).startswith(message)


def test_key_names_have_rkes_shape_and_never_repeat() -> None:
    taken: set[str] = set()
    for _ in range(300):
        name = new_key_name(taken)
        assert name not in taken and name.startswith("k-") and len(name) == 7
        assert set(name[2:]) <= set(ALPHABET)
        taken.add(name)


def test_an_rke_state_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "cluster.rkestate"
    path.write_text(json.dumps(RKE_STATE))
    state = StateFile.load(path)
    current = state.current()
    assert current.mode == "managed"
    spec = parse_cluster(
        {"services": {"kube-api": {"secrets_encryption_config": {"enabled": True}}}},
        path=tmp_path / "cluster.yml",
    )
    same = desired_config(spec.encryption, current=current, rotate=False, taken=state.taken_names())
    assert same.config == current.config and not same.new_keys  # RKE's hex key stays in use
    rotated = desired_config(
        spec.encryption, current=current, rotate=True, taken=state.taken_names()
    )
    assert rotated.new_keys and "k-fw5hn" not in rotated.new_keys
    state.retire({("aescbc", "k-fw5hn"): "RTczRjFDODMwQzAyMDVBREU4NDJBMUZFNDhCNzM5N0I="})
    state.save()
    again = json.loads(path.read_text())
    assert (
        again["desiredState"]["certificatesBundle"]
        == RKE_STATE["desiredState"]["certificatesBundle"]
    )
    assert again["kcrypt"]["retiredKeys"][0]["name"] == "k-fw5hn"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_sealed_state_file_needs_its_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "cluster.rkestate"
    path.write_text(json.dumps(RKE_STATE))
    state = StateFile.load(path, passphrase="correct horse")
    state.save()
    raw = path.read_bytes()
    assert is_sealed(raw) and b"k-fw5hn" not in raw and b"RTczRj" not in raw
    with pytest.raises(StateFileError, match="sealed with a passphrase"):
        StateFile.load(path)
    with pytest.raises(StateFileError, match="does not open"):
        StateFile.load(path, passphrase="wrong")
    assert StateFile.load(path, passphrase="correct horse").current().config is not None


def test_custom_rotation_refused_when_nothing_is_encrypted(tmp_path: Path) -> None:
    custom = yaml.safe_load(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
        "resources:\n- resources: [secrets]\n  providers:\n  - identity: {}\n"
    )
    spec = parse_cluster(
        {
            "services": {
                "kube-api": {
                    "secrets_encryption_config": {"enabled": True, "custom_config": custom}
                }
            }
        },
        path=tmp_path / "cluster.yml",
    )
    with pytest.raises(Refused, match="no key to rotate"):
        desired_config(spec.encryption, current=Current(), rotate=True, taken=set())


def test_rotation_while_disabled_is_refused_with_rkes_words(tmp_path: Path) -> None:
    spec = parse_cluster({}, path=tmp_path / "cluster.yml")
    with pytest.raises(Refused) as err:
        desired_config(spec.encryption, current=Current(), rotate=True, taken=set())
    assert str(err.value).startswith(
        "can't rotate encryption keys: Encryption Configuration is disabled. "
        "Please disable rotate_encryption_key and run kcrypt up again"
    )


def test_custom_rotation_new_local_key_first_and_kms_entries_rewritten(tmp_path: Path) -> None:
    custom = yaml.safe_load(
        """
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - {name: gcm1, secret: c2VjcmV0IGlzIHNlY3VyZSwgaSB0aGluayBzbyBhYmM=}
      - {name: gcm0, secret: dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkgMzIgYnk=}
  - identity: {}
- resources: [configmaps]
  providers:
  - kms:
      apiVersion: v2
      name: vault
      endpoint: unix:///run/kms.sock
  - identity: {}
"""
    )
    spec = parse_cluster(
        {
            "services": {
                "kube-api": {
                    "secrets_encryption_config": {"enabled": True, "custom_config": custom}
                }
            }
        },
        path=tmp_path / "cluster.yml",
    )
    out = desired_config(spec.encryption, current=Current(), rotate=True, taken={"gcm1", "gcm0"})
    assert out.config is not None
    (new,) = out.new_keys
    secrets_entry, configmaps_entry = out.config.resources
    first = secrets_entry.providers[0].aesgcm
    assert first is not None and [k.name for k in first.keys] == [new]
    assert configmaps_entry.providers[0].kms is not None
    assert out.force_rewrite == ("configmaps",)
    assert "plugin's current key" in out.notes[0]
