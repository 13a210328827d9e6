"""The documented manual key rotation with --encryption-provider-config, and an
invalid config on reload (old config kept, failure counted, still serving).

https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcrypt.config import config_hash

from .harness import KcryptServer, Kubectl, require_tools, sqlite_keys, sqlite_raw, wait_until

KEY1 = base64.b64encode(b"1" * 32).decode()
KEY2 = base64.b64encode(b"2" * 32).decode()
METRIC = "apiserver_encryption_config_controller_"


def config(*keys: tuple[str, str]) -> str:
    key_list = ",".join(f'{{"name":"{name}","secret":"{secret}"}}' for name, secret in keys)
    return (
        '{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
        '"resources":[{"resources":["secrets"],"providers":['
        f'{{"aescbc":{{"keys":[{key_list}]}}}},{{"identity":{{}}}}]}}]}}'
    )


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "encryption.json"
    path.write_text(config(("key1", KEY1)))
    return path


@pytest.fixture(scope="module")
def server(config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KcryptServer]:
    require_tools("kubectl", "sqlite3")
    base = tmp_path_factory.mktemp("rot")
    args = ["--encryption-provider-config", str(config_file), "--reload-interval", "0.2"]
    with KcryptServer(base / "data", args=args) as server:
        yield server


@pytest.fixture(scope="module")
def kubectl(server: KcryptServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(server.kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))


def db(server: KcryptServer) -> Path:
    return server.data_dir / "server" / "db" / "state.db"


def write_and_wait_for_reload(server: KcryptServer, path: Path, content: str) -> None:
    path.write_text(content)
    expected = config_hash(content.encode())
    wait_until(lambda: server.metric(METRIC + "last_config_info", hash=expected) == 1)


def secret_prefixes(server: KcryptServer) -> dict[str, bytes]:
    out = {}
    for key in sqlite_keys(db(server), "/registry/secrets/"):
        raw = sqlite_raw(db(server), key)
        if raw is not None:
            out[key] = raw[: raw.index(b":", len(b"k8s:enc:aescbc:v1:")) + 1]
    return out


def test_manual_rotation_moves_every_secret_to_the_new_key(
    server: KcryptServer, kubectl: Kubectl, config_file: Path
) -> None:
    for ns, name in [("default", "r1"), ("default", "r2"), ("kube-system", "r3")]:
        kubectl.run("create", "secret", "generic", name, "-n", ns, f"--from-literal=v={name}-val")
    before = secret_prefixes(server)
    assert len(before) == 3
    assert set(before.values()) == {b"k8s:enc:aescbc:v1:key1:"}

    # 1. the new key is added second: every server can read it before anyone writes with it
    write_and_wait_for_reload(server, config_file, config(("key1", KEY1), ("key2", KEY2)))
    # 2. the new key goes first: new writes use it
    write_and_wait_for_reload(server, config_file, config(("key2", KEY2), ("key1", KEY1)))
    # 3. rewrite every secret
    listing = kubectl.run("get", "secrets", "-A", "-o", "json")
    out = kubectl.run("replace", "-f", "-", input=listing)
    assert out.count("replaced") == 3
    assert set(secret_prefixes(server).values()) == {b"k8s:enc:aescbc:v1:key2:"}
    # 4. the old key leaves the config; everything still reads
    write_and_wait_for_reload(server, config_file, config(("key2", KEY2)))
    items = json.loads(kubectl.run("get", "secrets", "-A", "-o", "json"))["items"]
    values = {i["metadata"]["name"]: base64.b64decode(i["data"]["v"]) for i in items}
    assert values == {"r1": b"r1-val", "r2": b"r2-val", "r3": b"r3-val"}
    assert set(secret_prefixes(server).values()) == {b"k8s:enc:aescbc:v1:key2:"}


def test_an_invalid_config_on_reload_is_rejected_and_the_old_one_kept(
    server: KcryptServer, kubectl: Kubectl, config_file: Path
) -> None:
    good = config_file.read_text()
    failures_before = server.metric(METRIC + "automatic_reloads_total", status="failure") or 0
    config_file.write_text(config(("bad", base64.b64encode(b"short").decode())))
    wait_until(
        lambda: (
            (server.metric(METRIC + "automatic_reloads_total", status="failure") or 0)
            == failures_before + 1
        )
    )
    assert "error processing encryption config file" in server.log()
    assert str(config_file) in server.log()
    assert server.metric(METRIC + "last_config_info", hash=config_hash(good.encode())) == 1

    kubectl.run("create", "secret", "generic", "after-bad", "--from-literal=v=x")
    raw = sqlite_raw(db(server), "/registry/secrets/default/after-bad")
    assert raw is not None and raw.startswith(b"k8s:enc:aescbc:v1:key2:")

    write_and_wait_for_reload(server, config_file, good + "\n")
    assert server.metric(METRIC + "automatic_reloads_total", status="failure") == (
        failures_before + 1
    )
