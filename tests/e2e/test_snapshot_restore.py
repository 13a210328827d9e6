"""The seed's two restore failures, made impossible -- on the embedded SQLite datastore.

"How to Prevent Restore Failures after Rotating Keys" lists two cases where a
restore fails: a snapshot taken while encryption was on, restored after it was
turned off; and a snapshot taken before a rotation, restored after it. Each
runs here end to end: real server, kubectl, the snapshot CLI, ``kcrypt server
--cluster-reset``; then every secret reads back through kubectl unchanged.
"""

from __future__ import annotations

from pathlib import Path

from .harness import KcryptServer, Kubectl
from .secrets_support import Setup, check_readback, sqlite_secrets
from .snapshot_support import cluster_reset, kcrypt, listed, local, save

TOKEN = "restore-test-token-" + "3" * 40


def setup(base: Path, *extra: str) -> Setup:
    s = Setup(base, ["--secrets-encryption", "--token", TOKEN, *extra])
    s.add(12, "snap")
    return s


def test_a_snapshot_before_a_rotation_restores_after_it(tmp_path: Path) -> None:
    s = setup(tmp_path / "a")
    try:
        snap = save(s.server)
        s.cli.ok("rotate-keys")  # new key writes, every value rewritten, the old key removed
        doc = s.cli.wait_stage("reencrypt_finished")
        assert doc["activekey"] != "AES-CBC aescbckey" and "inactivekeys" not in doc
        s.add(3, "after")  # written after the snapshot: the restore drops them
        s.server.stop()

        out = cluster_reset(s.server.data_dir, snap, "--secrets-encryption", "--token", TOKEN)
        assert "restart without --cluster-reset flag now" in out.stderr

        s.restart()
        check_readback(s.kubectl, {k: v for k, v in s.secrets.items() if "after" not in k[1]})
        names = {i["metadata"]["name"] for i in s.kubectl.json("get", "secrets", "-A")["items"]}
        assert not any(n.startswith("after") for n in names)
        status = s.cli.text()
        assert "Restored From: on-demand-e2e-node-" in status
        assert "Read-only keys from the restore: aescbckey --" in status
        raw = sqlite_secrets(s.db)
        assert all(v.startswith(b"k8s:enc:aescbc:v1:aescbckey:") for v in raw.values())
        # the rotated key still writes; the restored one only reads until reencrypt retires it
        s.cli.ok("reencrypt")
        s.cli.wait_stage("reencrypt_finished")
        assert "inactivekeys" not in s.cli.status()
        check_readback(s.kubectl, {k: v for k, v in s.secrets.items() if "after" not in k[1]})
    finally:
        s.stop()


def test_a_snapshot_with_encryption_restores_on_a_fresh_server_without_it(tmp_path: Path) -> None:
    s = setup(tmp_path / "a")
    try:
        snap = save(s.server)
        s.cli.ok("disable")
        s.cli.wait_stage("start")
    finally:
        s.stop()
    # k3s#5763: a new machine, started without --secrets-encryption, only the token kept
    fresh = tmp_path / "fresh" / "data"
    cluster_reset(fresh, snap, "--token", TOKEN)
    server = KcryptServer(fresh, args=["--token", TOKEN]).start()
    try:
        check_readback(Kubectl(server.kubeconfig, tmp_path / "cache"), s.secrets)
    finally:
        server.stop()


def test_withheld_keys_are_refused_by_name_and_a_bundle_brings_them(tmp_path: Path) -> None:
    s = setup(tmp_path / "a")
    try:
        snap = save(s.server)
        passphrase = tmp_path / "passphrase"
        passphrase.write_text("correct horse battery staple\n")
        bundle = tmp_path / "keys.bundle"
        out = kcrypt(
            "keys",
            "export",
            "--to",
            str(bundle),
            "--passphrase-file",
            str(passphrase),
            *local(s.server),
        ).stdout
        assert "aescbc\taescbckey\tsha256:" in out
    finally:
        s.stop()
    # another machine with another token: the snapshot's sealed keys do not open, no bundle
    fresh = tmp_path / "fresh" / "data"
    other = ["--token", "another-token-" + "8" * 40]
    refused = cluster_reset(fresh, snap, *other, check=False)
    assert refused.returncode == 1
    assert "Error: refusing to restore on-demand-e2e-node-" in refused.stderr
    assert "aescbc key 'aescbckey' (fingerprint sha256:" in refused.stderr
    assert "needed by 12 values" in refused.stderr
    db = fresh / "server" / "db" / "state.db"
    assert not db.exists() or sqlite_secrets(db) == {}  # nothing touched

    cluster_reset(
        fresh,
        snap,
        *other,
        "--key-bundle",
        str(bundle),
        "--key-bundle-passphrase-file",
        str(tmp_path / "passphrase"),
    )
    server = KcryptServer(fresh, args=other).start()
    try:
        check_readback(Kubectl(server.kubeconfig, tmp_path / "cache"), s.secrets)
    finally:
        server.stop()


def test_a_flipped_byte_is_refused_and_ls_shows_snapshots(tmp_path: Path) -> None:
    s = setup(tmp_path / "a")
    try:
        snap = save(s.server)
        rows = listed(s.server)
        assert [r["name"] for r in rows] == [snap.name.removesuffix(".zip")]
        assert rows[0]["location"] == f"file://{snap}" and rows[0]["size"] == snap.stat().st_size
        data = bytearray(snap.read_bytes())
        data[len(data) // 3] ^= 0x40
        snap.write_bytes(bytes(data))
        s.server.stop()
        refused = cluster_reset(
            s.server.data_dir, snap, "--secrets-encryption", "--token", TOKEN, check=False
        )
        assert refused.returncode == 1
        assert "is damaged" in refused.stderr and "nothing was touched" in refused.stderr
        s.restart()
        check_readback(s.kubectl, s.secrets)
    finally:
        s.stop()


def test_a_key_change_takes_a_snapshot_named_in_status(tmp_path: Path) -> None:
    s = setup(tmp_path / "a")
    try:
        s.cli.ok("rotate-keys")
        s.cli.wait_stage("reencrypt_finished")
        from .harness import wait_until

        rows = wait_until(lambda: [r for r in listed(s.server) if r["name"].startswith("key-")])
        assert rows[0]["name"].startswith("key-change-e2e-node-")

        def last_named() -> str:
            text = s.cli.text()
            return text if "Last Snapshot: key-change" in text else ""

        text = wait_until(last_named)
        assert rows[0]["name"] in text
        assert f"Snapshot {rows[0]['name']} taken after a key change" in s.server.log()
    finally:
        s.stop()
