"""KMS plugin faults seen from a running server, and every valid upstream config.

* A plugin killed (SIGKILL) in the middle of a re-encryption pass: the server
  turns not ready, the pass pauses (nothing skipped, nothing lost), and
  finishes once the plugin is started again.
* Each config in kube-apiserver's ``valid-configs`` test data starts the
  server (several name KMS plugins that are not running: started, not ready).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e.secrets_support import Cli, seed_store, sqlite_secrets

from .support import LiveServer, PluginProcess, kms_config

pytestmark = pytest.mark.e2e

IDENTITY = (
    b'{"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",'
    b'"resources":[{"resources":["secrets"],"providers":[{"identity":{}}]}]}'
)
V1_PREFIX = b"k8s:enc:kms:v1:aws-encryption-provider:"
SECRETS = 6000


def _progress(cli: Cli) -> dict[str, Any]:
    return dict(cli.status().get("reencrypt") or {})


def _wait(
    cli: Cli, done: Callable[[dict[str, Any]], bool], *, timeout: float = 180.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        progress = _progress(cli)
        if done(progress):
            return progress
        assert time.monotonic() < deadline, progress
        time.sleep(0.1)


def test_plugin_killed_mid_pass_pauses_it_and_a_restart_finishes_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = data / "server" / "db" / "state.db"
    db.parent.mkdir(parents=True, mode=0o700)
    expected = asyncio.run(seed_store(f"sqlite://{db}", IDENTITY, SECRETS))
    keys = ["--backend", "keyfile", "--key-file", str(tmp_path / "keys.json")]
    plugin = PluginProcess(tmp_path / "kmsplugin.sock", keys, dict(os.environ)).start()
    config = tmp_path / "encryption-config.yaml"
    config.write_text(kms_config(plugin.endpoint))
    server = LiveServer(data, args=["--encryption-provider-config", str(config)])
    try:
        server.start()
        server.wait_ready()
        cli = Cli(server)
        assert "reencryption started" in cli.ok("reencrypt")
        first = _wait(cli, lambda p: int(p.get("done", 0)) >= 2000)
        plugin.kill()  # v1: every rewrite needs the plugin's Encrypt
        assert int(first["done"]) < SECRETS, "the pass finished before the plugin was killed"

        server.wait_ready(False)
        paused = _progress(cli)
        assert paused["running"] is True and int(paused["done"]) < SECRETS
        assert not paused.get("failed") and not paused.get("skipped")
        assert "re-encryption of /registry/secrets/ paused" in server.log()
        # the pass's first value: 1000+ DEKs were cached after it (cachesize 1000)
        with server.client(timeout=60) as client:
            r = client.get("/api/v1/namespaces/default/secrets/s-000001")
        assert r.status_code == 500
        assert "failed to decrypt DEK, error: rpc error: code = DeadlineExceeded" in r.text

        plugin.start()
        final = _wait(cli, lambda p: bool(p.get("finished")))
        assert (final["done"], final.get("failed"), final.get("skipped")) == (SECRETS, 0, 0)
        server.wait_ready()
        assert "re-encryption of /registry/secrets/ resumed" in server.log()
        raw = sqlite_secrets(db)
        assert set(raw) == set(expected)
        assert all(value.startswith(V1_PREFIX) for value in raw.values())
        with server.client(timeout=120) as client:
            listed = client.get("/api/v1/secrets", headers={"Accept": "application/json"})
        assert listed.status_code == 200
        assert len(listed.json()["items"]) == SECRETS
    finally:
        server.stop()
        plugin.stop()


def _valid_configs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".json"))


@pytest.mark.slow
def test_every_valid_upstream_config_starts_the_server(tmp_path: Path, k8s_fixtures: Path) -> None:
    root = k8s_fixtures / "encryptionconfig" / "config-testdata" / "valid-configs"
    configs = _valid_configs(root)
    assert len(configs) >= 10

    def start_and_check(i: int, path: Path) -> None:
        has_kms = "kms:" in path.read_text()
        server = LiveServer(
            tmp_path / f"data-{i}", args=["--encryption-provider-config", str(path)]
        )
        with server:
            code, text = server.readyz()
            if has_kms:  # no plugin runs at those sockets: started, not ready
                assert code == 500, (path, text)
                assert "[-]kms-providers failed: reason withheld" in text
            else:
                assert (code, "[+]kms-providers ok" in text) == (200, True), (path, text)
        assert server.process is not None and server.process.returncode == 0, path

    # four servers at a time: each start is mostly waiting (imports, TLS material)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(start_and_check, i, p) for i, p in enumerate(configs)]:
            done.result()
