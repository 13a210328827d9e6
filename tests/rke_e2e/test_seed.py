"""One test per paragraph of RKE's "Encrypting Secret Data at Rest" page.

The page's YAML is used as the page prints it (copied here: tests never read
the seed). A single kcrypt server on SQLite plays the controlplane node; its
raw values are read with sqlite3 and decrypted with an independent AES
implementation.
"""

from __future__ import annotations

import base64
import re
import subprocess

import pytest
from e2e.harness import kcrypt_command

from .cluster import RkeCluster, config_keys, write_key

#: The page's full custom configuration example (an RKE-generated key: base64 of
#: 32 hex characters, 128 bits of entropy).
SEED_CUSTOM = """services:
  kube-api:
    secrets_encryption_config:
      enabled: true
      custom_config:
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
        - resources:
          - secrets
          providers:
          - aescbc:
              keys:
              - name: k-fw5hn
                secret: RTczRjFDODMwQzAyMDVBREU4NDJBMUZFNDhCNzM5N0I=
          - identity: {}
"""
SEED_ENABLE = """services:
  kube-api:
    secrets_encryption_config:
      enabled: true
"""
SEED_DISABLE = """services:
  kube-api:
    secrets_encryption_config:
      enabled: false
"""
SEED_KMS = """services:
  kube-api:
    extra_binds:
      - "/var/run/kmsplugin/:/var/run/kmsplugin/"
    secrets_encryption_config:
      enabled: true
      custom_config:
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
          - resources:
            - secrets
            providers:
            - kms:
                name: aws-encryption-provider
                endpoint: unix:///var/run/kmsplugin/socket.sock
                cachesize: 1000
                timeout: 3s
            - identity: {}
"""
#: ``rke encrypt rotate-key --help`` as the page prints it.
SEED_ROTATE_HELP = "\n".join(
    [
        "NAME:",
        "   rke encrypt rotate-key - Rotate cluster encryption provider key",
        "",
        "USAGE:",
        "   rke encrypt rotate-key [command options] [arguments...]",
        "",
        "OPTIONS:",
        "   --config value           Specify an alternate cluster YAML file "
        '(default: "cluster.yml") [$RKE_CONFIG]',
        "   --ssh-agent-auth         Use SSH Agent Auth defined by SSH_AUTH_SOCK",
        "   --ignore-docker-version  Disable Docker version check",
        "",
    ]
)


@pytest.fixture
def one(single: RkeCluster) -> RkeCluster:
    """A single server holding six plaintext secrets."""
    kubectl = single.kubectl()
    for i in range(6):
        kubectl.run("create", "secret", "generic", f"s-{i}", f"--from-literal=v=value-{i}")
    return single


def _under(cluster: RkeCluster) -> set[str]:
    return {v for k, v in cluster.keys_under().items() if k.startswith("/registry/secrets/")}


def _current(cluster: RkeCluster) -> str:
    return str(cluster.state()["currentState"]["encryptionConfig"])


def _phases(out: str) -> list[str]:
    """The phase lines ``kcrypt up`` prints: ``write: secrets: identity, aescbc[k-abcde]``."""
    found = re.findall(r"\[encryption\] phase \d \((\w+)\): (.*)", out)
    return [f"{name}: {text}" for name, text in found]


def test_enable_generates_an_aescbc_key_deploys_it_and_rewrites_all_secrets(
    one: RkeCluster,
) -> None:
    assert _under(one) == {"identity"}
    one.write_cluster_text(SEED_ENABLE)
    out = one.up()
    key = write_key(_current(one), "secrets")
    assert f"Generated new encryption key {key}" in out
    # aescbc is the default provider; the key is 32 random bytes (RKE: 32 hex characters)
    assert len(base64.b64decode(config_keys(_current(one))[("aescbc", key)])) == 32
    assert one.config_file(0).read_text() == _current(one)
    assert _under(one) == {key}, "existing secrets were not rewritten"
    assert "Nothing changed" in one.up()


@pytest.mark.parametrize("how", ["enabled-false", "block-removed"])
def test_disable_puts_identity_first_rewrites_then_removes_the_key(
    one: RkeCluster, how: str
) -> None:
    one.write_cluster_text(SEED_ENABLE)
    one.up()
    key = write_key(_current(one), "secrets")
    if how == "enabled-false":
        one.write_cluster_text(SEED_DISABLE)
    else:
        one.write_cluster_yml(None)
    out = one.up()
    # identity{} first and the previous aescbc second, then rewrite, then no key at all
    assert _phases(out) == [
        f"write: secrets: identity, aescbc[{key}]",
        "final: secrets: identity",
    ]
    assert "then rewrite: secrets" in out
    assert _under(one) == {"identity"}
    assert not config_keys(one.config_file(0).read_text())
    # the key is kept in the state file, so snapshots taken while enabled stay readable
    assert key in {k["name"] for k in one.state()["kcrypt"]["retiredKeys"]}


def test_rotate_key_command_new_key_first_old_second_rewrite_then_old_removed(
    one: RkeCluster,
) -> None:
    one.write_cluster_text(SEED_ENABLE)
    one.up()
    old = write_key(_current(one), "secrets")
    out = one.kcrypt("encrypt", "rotate-key").stdout
    new = write_key(_current(one), "secrets")
    assert new != old
    assert _phases(out) == [
        f"read: secrets: aescbc[{old}, {new}], identity",
        f"write: secrets: aescbc[{new}, {old}], identity",
        f"final: secrets: aescbc[{new}], identity",
    ]
    assert out.startswith("Rotating cluster secrets encryption key")
    assert "Cluster secrets encryption key rotated successfully" in out
    assert _under(one) == {new}


def test_rotate_key_help_has_rkes_shape() -> None:
    proc = subprocess.run(
        [*kcrypt_command(), "encrypt", "rotate-key", "--help"], capture_output=True, text=True
    )
    expected = SEED_ROTATE_HELP.replace("rke ", "kcrypt ").replace("RKE_CONFIG", "KCRYPT_CONFIG")
    got, want = proc.stdout.splitlines(), expected.splitlines()
    assert got[:7] == want[:7]  # NAME, USAGE, OPTIONS headers word for word
    options = [" ".join(line.split()) for line in got[7:]]
    for line in want[7:]:
        assert " ".join(line.split()) in options, line


def test_rotate_encryption_key_true_in_cluster_yml_rotates_during_up(one: RkeCluster) -> None:
    one.write_cluster_text(SEED_ENABLE)
    one.up()
    old = write_key(_current(one), "secrets")
    one.write_cluster_text("rotate_encryption_key: true\n" + SEED_ENABLE)
    one.up()
    assert write_key(_current(one), "secrets") != old
    assert _under(one) == {write_key(_current(one), "secrets")}


def test_disable_then_enable_never_reuses_a_key(one: RkeCluster) -> None:
    one.write_cluster_text(SEED_ENABLE)
    one.up()
    first = config_keys(_current(one))
    one.write_cluster_text(SEED_DISABLE)
    one.up()
    one.write_cluster_text(SEED_ENABLE)
    one.up()
    second = config_keys(_current(one))
    assert not set(first) & set(second)
    assert not set(first.values()) & set(second.values())
    assert _under(one) == {name for _, name in second}


def test_custom_config_from_the_page_deploys_as_given(one: RkeCluster) -> None:
    one.write_cluster_text(SEED_CUSTOM)
    out = one.up()
    assert "custom" in out
    on_node = one.config_file(0).read_text()
    assert "k-fw5hn" in on_node and "RTczRjFDODMwQzAyMDVBREU4NDJBMUZFNDhCNzM5N0I=" in on_node
    # RKE's hex-ASCII key is read as it is: the AES key is those 32 ASCII bytes
    assert base64.b64decode("RTczRjFDODMwQzAyMDVBREU4NDJBMUZFNDhCNzM5N0I=") == (
        b"E73F1C830C0205ADE842A1FE48B7397B"
    )
    assert _under(one) == {"k-fw5hn"}
    assert "Nothing changed" in one.up()


def test_kms_example_is_refused_while_no_plugin_answers(one: RkeCluster) -> None:
    before = one.config_file(0).read_bytes()
    one.write_cluster_text(SEED_KMS)
    proc = one.kcrypt("up", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "Error: custom_config names the KMS provider 'aws-encryption-provider'"
    )
    assert "no plugin answers there on node s1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert one.config_file(0).read_bytes() == before
    assert not one.state_file.exists() or not one.state().get("kcrypt", {}).get("operation")
