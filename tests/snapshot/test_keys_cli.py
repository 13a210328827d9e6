"""``kcrypt keys export`` / ``import``: every key known leaves sealed and comes back 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner

from kcrypt.cli.main import cli
from kcrypt.snapshot import fingerprint, read_keyring_file

from .support import enabled, key

ENV = {"KCRYPT_BUNDLE_PASSPHRASE": "a long passphrase"}


def test_export_then_import_into_another_data_dir(tmp_path: Path) -> None:
    k0, k1 = key("k0"), key("k1")
    source = tmp_path / "a"
    (source / "server" / "cred").mkdir(parents=True)
    (source / "server" / "cred" / "encryption-config.json").write_bytes(enabled(k1, k0))
    bundle = tmp_path / "keys.bundle"
    runner = CliRunner()

    out = runner.invoke(
        cli,
        ["keys", "export", "--to", str(bundle), "--offline", "--data-dir", str(source)],
        env=ENV,
    )
    assert out.exit_code == 0, out.output
    assert "2 keys exported" in out.output
    assert k0.secret.reveal().hex() not in bundle.read_bytes().hex()
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600

    wrong = runner.invoke(
        cli,
        ["keys", "import", str(bundle), "--data-dir", str(tmp_path / "b")],
        env={"KCRYPT_BUNDLE_PASSPHRASE": "not it"},
    )
    assert wrong.exit_code == 1 and "Error: the passphrase does not open" in wrong.output

    target = tmp_path / "b"
    done = runner.invoke(cli, ["keys", "import", str(bundle), "--data-dir", str(target)], env=ENV)
    assert done.exit_code == 0, done.output
    keyring = target / "server" / "cred" / "keyring.json"
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    got = {(k.name, k.fingerprint) for k in read_keyring_file(keyring)}
    assert got == {("k0", fingerprint(k0.secret)), ("k1", fingerprint(k1.secret))}
