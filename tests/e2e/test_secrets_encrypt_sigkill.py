"""SIGKILL in the middle of re-encrypting 20,000 secrets, then a restart.

The secrets are written straight into the stopped server's SQLite file,
encrypted under the server's first key exactly as kube-apiserver stores them
(20,000 kubectl creates would take minutes and test nothing more). Then
``rotate-keys`` starts, the server is killed with SIGKILL while the pass is
between 10 % and 90 %, and restarted: the pass resumes from its checkpoint,
and in the end every secret is readable and under the new key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import time
from pathlib import Path

from kcrypt.encryption import transformer_for

from .harness import KcryptServer, Kubectl, kcrypt_command, require_tools
from .secrets_support import (
    Cli,
    assert_all_under,
    config_on_disk,
    key_of,
    keys_in_status,
    seed_store,
    sqlite_secrets,
)

N = 20_000


def progress(server: KcryptServer) -> dict[str, object]:
    with server.client() as client:
        doc = client.get("/v1-kcrypt/encrypt/status").json()
    return doc.get("reencrypt") or {}


def test_sigkill_mid_reencrypt_then_restart_finishes(tmp_path: Path) -> None:
    require_tools("kubectl", "sqlite3")
    args = ["--secrets-encryption", "--reload-interval", "0.2"]
    server = KcryptServer(tmp_path / "data", args=args).start()
    assert server.stop() == 0
    db = tmp_path / "data" / "server" / "db" / "state.db"
    old_config = config_on_disk(server)
    expected = asyncio.run(seed_store(f"sqlite://{db}", old_config, N))
    assert_all_under(sqlite_secrets(db), "aescbckey", ["aescbckey"], at_least=N)

    server = KcryptServer(tmp_path / "data", args=args, port=server.port).start()
    cli = [*kcrypt_command(), "secrets-encrypt", "rotate-keys", "-d", str(server.data_dir)]
    rotate = subprocess.Popen(
        [*cli, "-s", server.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            p = progress(server)
            total, done = int(str(p.get("total", 0))), int(str(p.get("done", 0)))
            if total and 0.1 * total <= done <= 0.9 * total:
                break
            assert done < 0.9 * total or not total, f"missed the window: {p}"
            assert time.monotonic() < deadline, "the pass did not start"
            time.sleep(0.01)
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    finally:
        _, err = rotate.communicate(timeout=60)
    # the CLI says what happened (the server went away), not "see server log"
    assert rotate.returncode == 1
    assert err.splitlines()[-1].startswith("Error: https://127.0.0.1:"), err
    assert "Connection refused" in err or "disconnected" in err.lower(), err
    assert "see server log" not in err

    # killed mid-pass: some values under the new key, the rest still under the old one
    config = config_on_disk(server)
    tf = transformer_for(config)
    raw = sqlite_secrets(db)
    keys_now = [
        k["name"] for k in json.loads(config)["resources"][0]["providers"][0]["aescbc"]["keys"]
    ]
    new_key = keys_now[0]
    counts: dict[str, int] = {}
    for value in raw.values():
        counts[key_of(value, keys_now)] = counts.get(key_of(value, keys_now), 0) + 1
    assert counts.get(new_key, 0) >= N // 10 and counts.get("aescbckey", 0) >= N // 10, counts

    server = KcryptServer(tmp_path / "data", args=args, port=server.port).start()
    try:
        c = Cli(server)
        doc = c.wait_stage("reencrypt_finished", timeout=120)
        assert keys_in_status(doc) == (new_key, [new_key])
        assert "resuming re-encryption" in server.log()

        raw = sqlite_secrets(db)
        assert_all_under(raw, new_key, [new_key, "aescbckey"], at_least=N)
        for key, plain in expected.items():  # full check: decrypt every value with the config
            read = tf.from_storage(raw[key], context=key.encode())
            assert read.plaintext == plain, key

        kubectl = Kubectl(server.kubeconfig, tmp_path / "kubectl-cache")
        for i in (0, 1, 4_999, 10_001, N - 1):
            ns = "default" if i % 2 else "kube-system"
            got = kubectl.json("get", "secret", "-n", ns, f"s-{i:06d}")
            assert base64.b64decode(got["data"]["value"]) == f"v{i}-".encode() * 100
    finally:
        server.stop()
