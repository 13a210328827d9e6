"""Every upstream EncryptionConfiguration fixture: valid ones load, invalid ones fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcrypt.config import ConfigError, ConfigInvalid, ConfigLoadError, load, load_file

ENC = "encryptionconfig"


def _expected(k8s_fixtures: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((k8s_fixtures / ENC / "expected-errors.json").read_text())
    return doc


def _valid_files(root: Path) -> list[Path]:
    base = root / ENC
    files = [*(base / "config-testdata" / "valid-configs").rglob("*.yaml")]
    files += (base / "config-testdata" / "valid-configs").rglob("*.json")
    files += (base / "controller-testdata").glob("*.yaml")
    files += (base / "options-testdata").glob("*.yaml")
    return sorted(files)


def test_every_valid_fixture_loads(k8s_fixtures: Path) -> None:
    files = _valid_files(k8s_fixtures)
    assert len(files) == 22
    for path in files:
        loaded = load_file(path)
        assert loaded.config.resources, path
        assert loaded.raw == path.read_bytes()


def test_every_invalid_fixture_is_covered(k8s_fixtures: Path) -> None:
    asserted = {c["file"] for c in _expected(k8s_fixtures)["asserted_by_upstream_tests"]}
    invalid = (k8s_fixtures / ENC / "config-testdata" / "invalid-configs").rglob("*.yaml")
    for path in invalid:
        assert str(path.relative_to(k8s_fixtures)) in asserted


def _asserted_cases(root: Path) -> list[tuple[str, str, str]]:
    data = json.loads((root / ENC / "expected-errors.json").read_text())
    return [(c["file"], c["match"], c["error"]) for c in data["asserted_by_upstream_tests"]]


@pytest.mark.parametrize("index", range(7))
def test_invalid_fixture_fails_like_upstream(k8s_fixtures: Path, index: int) -> None:
    file, match, expected = _asserted_cases(k8s_fixtures)[index]
    path = k8s_fixtures / file
    if file == "invalid/path":
        # upstream passes a path that does not exist, relative to its test directory
        with pytest.raises(ConfigLoadError) as err:
            load_file("invalid/path")
        assert expected in str(err.value)
        assert str(err.value) == (
            "error while parsing file: error while loading file: error reading encryption provider "
            'configuration file "invalid/path": open invalid/path: no such file or directory'
        )
        return
    if "path as passed" in match:
        # the message names the path as the caller passed it: use upstream's path
        with pytest.raises(ConfigLoadError) as err:
            load(path.read_bytes(), source="testdata/invalid-configs/kms/invalid-content.yaml")
        assert expected in str(err.value)
        with pytest.raises(ConfigLoadError) as err:
            load_file(path)
        assert f'encryption provider configuration file "{path}" is empty' in str(err.value)
        return
    assert match == "substring"
    with pytest.raises(ConfigError) as failure:
        load_file(path)
    assert expected in str(failure.value)
    assert str(failure.value).startswith("error while parsing file: ")


def test_invalid_aes_gcm_full_message(k8s_fixtures: Path) -> None:
    case = next(
        c
        for c in _expected(k8s_fixtures)["asserted_by_upstream_tests"]
        if c["file"].endswith("invalid-aes-gcm.yaml")
    )
    with pytest.raises(ConfigInvalid) as err:
        load_file(k8s_fixtures / case["file"])
    assert str(err.value) == case["derived_full_error"]
    assert [str(e) for e in err.value.errors] == [
        "resources[0].providers[0].aesgcm.keys: Required value: at least one keys is required"
    ]


def test_decode_errors_are_wrapped_with_the_file_name(k8s_fixtures: Path) -> None:
    rel = "config-testdata/invalid-configs/kms/invalid-config-type.yaml"
    path = k8s_fixtures / ENC / rel
    with pytest.raises(ConfigLoadError) as err:
        load(path.read_bytes(), source="testdata/invalid-configs/kms/invalid-config-type.yaml")
    assert str(err.value) == (
        "error while parsing file: error decoding encryption provider configuration file "
        '"testdata/invalid-configs/kms/invalid-config-type.yaml": '
        'no kind "EncryptionConfigurations" is registered for version '
        '"apiserver.config.k8s.io/v1" in scheme '
        '"k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go:142"'
    )


def test_legacy_kind_loads_with_defaults(k8s_fixtures: Path) -> None:
    path = k8s_fixtures / ENC / "config-testdata/valid-configs/legacy.yaml"
    cfg = load_file(path).config
    kms = cfg.resources[0].providers[2].kms
    assert kms is not None
    assert (kms.api_version, kms.cachesize, kms.timeout_seconds) == ("v1", 10, 3.0)
    assert cfg.resources[0].resources == ("secrets", "namespaces")


def test_kms_defaults(k8s_fixtures: Path) -> None:
    cfg = load_file(k8s_fixtures / ENC / "config-testdata/valid-configs/kms-first.yaml").config
    v1, v2 = (p.kms for p in cfg.resources[0].providers[:2])
    assert v1 is not None and v2 is not None
    assert (v1.api_version, v1.cachesize, v1.timeout_seconds) == ("v1", 10, 7.0)
    # cachesize is defaulted only for v1
    assert (v2.api_version, v2.cachesize, v2.timeout_seconds) == ("v2", None, 3.0)
    default = load_file(
        k8s_fixtures / ENC / "config-testdata/valid-configs/kms/default-timeout.yaml"
    )
    kms = default.config.resources[0].providers[0].kms
    assert kms is not None and (kms.cachesize, kms.timeout_seconds) == (1000, 3.0)


def test_reload_rejects_duplicate_kms_v1_names(k8s_fixtures: Path) -> None:
    path = k8s_fixtures / ENC / "config-testdata/valid-configs/kms/multiple-providers.yaml"
    data = path.read_bytes().replace(b"name: bar", b"name: foo")
    load(data)  # duplicate v1 names are accepted at startup
    with pytest.raises(ConfigInvalid) as err:
        load(data, reload=True)
    assert str(err.value) == (
        'error while parsing file: resources[0].providers[1].kms.name: Invalid value: "foo": '
        "duplicate KMS provider name foo, names must be unique"
    )
