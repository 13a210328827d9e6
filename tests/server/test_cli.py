"""``kcrypt server`` flags as a user meets them (no server is started here)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kcrypt.cli.main import cli


def test_help_lists_k3s_style_flags_and_the_safer_bind_default() -> None:
    result = CliRunner().invoke(cli, ["server", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--data-dir",
        "--bind-address",
        "--https-listen-port",
        "--datastore-endpoint",
        "--token",
        "--write-kubeconfig",
        "--write-kubeconfig-mode",
        "--secrets-encryption",
        "--secrets-encryption-provider",
        "--encryption-provider-config",
        "--node-name",
        "--reload-interval",
    ):
        assert flag in result.output
    assert "0.0.0.0" in result.output and "KCRYPT_TOKEN" in result.output


def test_a_bad_kubeconfig_mode_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["server", "-d", str(tmp_path), "--write-kubeconfig-mode", "rw-r--r--"]
    )
    assert result.exit_code == 2
    assert "not an octal file mode" in result.output
    assert not (tmp_path / "server").exists()


def test_an_unknown_provider_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["server", "-d", str(tmp_path), "--secrets-encryption-provider", "kms"]
    )
    assert result.exit_code == 2
