"""How kcrypt reaches nodes: SSH agent auth, restart commands, dry runs, a sealed state file."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
import yaml
from e2e.harness import kcrypt_command, wait_until

from kcrypt.config import config_hash
from kcrypt.passphrase import is_sealed

from .cluster import RkeCluster, write_key
from .sshd import SSHServer


@pytest.fixture
def pair(sshd: SSHServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RkeCluster]:
    """Two servers: s1 written directly, s2 through sshd."""
    cluster = RkeCluster.start(tmp_path_factory.mktemp("rke-pair"), 2, ssh=sshd)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_ssh_agent_auth_reaches_the_node_with_the_agents_key(
    pair: RkeCluster, sshd: SSHServer
) -> None:
    agent_sock = pair.base / "agent.sock"
    agent = subprocess.run(
        ["ssh-agent", "-a", str(agent_sock)], capture_output=True, text=True, check=True
    )
    pid = int(agent.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": str(agent_sock)}
        subprocess.run(["ssh-add", str(sshd.client_key)], env=env, check=True, capture_output=True)
        pair.write_cluster_yml({"enabled": True})
        doc = yaml.safe_load(pair.cluster_yml.read_text())
        del doc["nodes"][1]["ssh_key_path"]  # only the agent holds the key
        pair.cluster_yml.write_text(yaml.safe_dump(doc))
        before = sshd.logins()
        proc = subprocess.run(
            [*_kcrypt(), "up", "--config", str(pair.cluster_yml), "--ssh-agent-auth"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert sshd.logins() > before
        assert pair.config_file(1).read_bytes() == pair.config_file(0).read_bytes()
    finally:
        os.kill(pid, 15)


def test_restart_command_runs_on_each_node_for_each_phase(pair: RkeCluster) -> None:
    marks = pair.base / "restarts.log"
    command = f"echo restarted >> {marks}"
    pair.write_cluster_yml({"enabled": True}, extra={"kcrypt": {"restart_command": command}})
    out = pair.up()
    # two phases (read, write) x two nodes (one local, one over SSH), one node at a time
    assert marks.read_text().count("restarted") == 4
    assert out.count("restarting the API server") == 4


def test_a_failing_restart_command_stops_before_the_next_phase(pair: RkeCluster) -> None:
    pair.write_cluster_yml({"enabled": True}, extra={"kcrypt": {"restart_command": "exit 3"}})
    proc = pair.kcrypt("up", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("the restart command exited with status 3")
    # the read phase was written (every server can still read everything); nothing wrote yet
    op = pair.state()["kcrypt"]["operation"]
    assert op["next"] == 0
    pair.write_cluster_yml({"enabled": True})
    assert "resuming" in pair.up()
    key = write_key(str(pair.state()["currentState"]["encryptionConfig"]), "secrets")
    assert key == op["newKeys"][0]


def test_dry_run_writes_and_deploys_nothing(pair: RkeCluster) -> None:
    before = [pair.config_file(i).read_bytes() for i in range(2)]
    pair.write_cluster_yml({"enabled": True})
    out = pair.up("--dry-run")
    assert "Dry run: nothing was written or deployed" in out
    assert "phase 1 (read): secrets: identity, aescbc[k-" in out
    assert [pair.config_file(i).read_bytes() for i in range(2)] == before
    assert not pair.state_file.exists()


def test_sealed_state_file_through_the_cli(pair: RkeCluster) -> None:
    secret = pair.base / "passphrase"
    secret.write_text("a long passphrase nobody guesses\n")
    pair.write_cluster_yml({"enabled": True})
    pair.up("--state-passphrase-file", str(secret))
    raw = pair.state_file.read_bytes()
    assert is_sealed(raw) and b"k-" not in raw
    refused = pair.kcrypt("encrypt", "rotate-key", check=False)
    assert refused.returncode == 1 and "is sealed with a passphrase" in refused.stderr
    env_run = subprocess.run(
        [*_kcrypt(), "encrypt", "rotate-key", "--config", str(pair.cluster_yml)],
        capture_output=True,
        text=True,
        env={**os.environ, "KCRYPT_STATE_PASSPHRASE": secret.read_text().strip()},
        timeout=300,
    )
    assert env_run.returncode == 0, env_run.stderr
    assert is_sealed(pair.state_file.read_bytes())
    with pytest.raises(ValueError):
        json.loads(pair.state_file.read_text())


def _kcrypt() -> list[str]:
    return kcrypt_command()


HAND_KEY = "c2VjcmV0IGlzIHNlY3VyZSwgaSB0aGluayBzbyBhYmM="


def _by_hand(name: str) -> bytes:
    return (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
        "- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n"
        f"      - name: {name}\n        secret: {HAND_KEY}\n  - identity: {{}}\n"
    ).encode()


def test_a_cluster_configured_by_hand_is_taken_over(pair: RkeCluster) -> None:
    for i in range(2):
        pair.config_file(i).write_bytes(_by_hand("by-hand"))
    wait_until(lambda: all(pair.loaded_hash(i) == config_hash(_by_hand("by-hand")) for i in (0, 1)))
    pair.kubectl().run("create", "secret", "generic", "old", "--from-literal=v=1")
    pair.write_cluster_yml({"enabled": True})
    out = pair.up()
    key = write_key(str(pair.state()["currentState"]["encryptionConfig"]), "secrets")
    assert f"phase 1 (read): secrets: aesgcm[by-hand], identity, aescbc[{key}]" in out
    assert set(pair.keys_under().values()) == {key}
    assert "by-hand" in {k["name"] for k in pair.state()["kcrypt"]["retiredKeys"]}


def test_nodes_that_cannot_read_each_other_are_refused(pair: RkeCluster) -> None:
    pair.config_file(1).write_bytes(_by_hand("only-on-s2"))
    wait_until(lambda: pair.loaded_hash(1) == config_hash(_by_hand("only-on-s2")))
    before = [pair.config_file(i).read_bytes() for i in range(2)]
    pair.write_cluster_yml({"enabled": True})
    proc = pair.kcrypt("up", check=False)
    assert proc.returncode == 1
    assert "node s2 runs an encryption config that cannot read what the others write" in (
        proc.stderr
    )
    assert [pair.config_file(i).read_bytes() for i in range(2)] == before
