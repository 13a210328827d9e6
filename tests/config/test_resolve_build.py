"""Resource matching, wildcard masking, transformer building, KMS grace period."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcrypt import envelope
from kcrypt.config import (
    ConfigBuildError,
    EncryptionConfiguration,
    GroupResource,
    IdentityConfiguration,
    ProviderConfiguration,
    ResourceConfiguration,
    ResourceMasked,
    ResourceRules,
    assign,
    build_transformers,
    dump_json,
    generate,
    kms_close_grace_period,
    load,
    load_file,
)

CTX = b"/registry/secrets/default/s1"


def _expected(root: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (root / "encryptionconfig" / "expected-errors.json").read_text()
    )
    return doc


@pytest.mark.parametrize(
    ("text", "group", "resource"),
    [
        ("secrets", "", "secrets"),
        ("secrets.", "", "secrets"),
        ("deployments.apps", "apps", "deployments"),
        ("pandas.awesome.bears.example", "awesome.bears.example", "pandas"),
        ("*.", "", "*"),
        ("*.apps", "apps", "*"),
        ("*.*", "*", "*"),
    ],
)
def test_parse_group_resource(text: str, group: str, resource: str) -> None:
    assert GroupResource.parse(text) == GroupResource(group, resource)


def test_wildcard_masking_upstream(k8s_fixtures: Path) -> None:
    cases = _expected(k8s_fixtures)["wildcard_masking_upstream"]["cases"]
    assert len(cases) == 11
    for case in cases:
        entries = [(lst, [object()]) for lst in case["entries"]]
        if case["error"] is None:
            assign(entries)
            continue
        with pytest.raises(ResourceMasked) as err:
            assign(entries)
        assert str(err.value) == case["error"], case["desc"]


def _entry(*resources: str) -> ResourceConfiguration:
    identity = ProviderConfiguration(identity=IdentityConfiguration())
    return ResourceConfiguration(resources=resources, providers=(identity,))


def test_masking_is_wrapped_when_building() -> None:
    # TestWildcardMasking's builder error, as kube-apiserver wraps it
    config = EncryptionConfiguration((_entry("configmaps"), _entry("*.", "secrets")))
    with pytest.raises(ConfigBuildError) as err:
        build_transformers(config)
    assert str(err.value) == (
        'error while building transformers: resource "secrets" is masked by earlier rule "*."'
    )


def test_lookup_order() -> None:
    rules = ResourceRules.from_entries(
        [(["secrets"], ["s"]), (["*.apps"], ["apps"]), (["*.*"], ["all"])]
    )
    assert rules.lookup("secrets") == ("s",)
    assert rules.lookup("deployments", "apps") == ("apps",)
    assert rules.lookup("configmaps") == ("all",)
    assert ResourceRules.from_entries([(["secrets"], ["s"])]).lookup("configmaps") is None


def test_same_resource_in_two_entries_concatenates() -> None:
    rules = ResourceRules.from_entries([(["secrets"], ["a"]), (["secrets.", "configmaps"], ["b"])])
    assert rules.lookup("secrets") == ("a", "b")
    assert rules.lookup("configmaps") == ("b",)


def test_generated_aescbc_config_writes_and_reads() -> None:
    config = load(dump_json(generate("aescbc", key_name="aescbckey"))).config
    transformers = build_transformers(config)
    t = transformers.for_resource("secrets")
    stored = t.to_storage(b"plain secret", context=CTX)
    assert stored.startswith(b"k8s:enc:aescbc:v1:aescbckey:")
    result = t.from_storage(stored, context=CTX)
    assert result.plaintext == b"plain secret"
    assert not result.stale
    # configmaps are not configured: identity with encrypted-data check
    cm = transformers.for_resource("configmaps")
    assert cm.to_storage(b"x", context=b"/registry/configmaps/default/c") == b"x"


@pytest.mark.parametrize("provider", ["aesgcm", "secretbox"])
def test_other_generated_providers_round_trip(provider: str) -> None:
    t = build_transformers(generate(provider, key_name="k")).for_resource("secrets")
    stored = t.to_storage(b"v", context=CTX)
    assert stored.startswith(f"k8s:enc:{provider}:v1:k:".encode())
    assert t.from_storage(stored, context=CTX).plaintext == b"v"


def test_upstream_cbc_rotation_configs(k8s_fixtures: Path) -> None:
    aes = k8s_fixtures / "encryptionconfig/config-testdata/valid-configs/aes"
    expected = {
        "aes-cbc-multiple-providers.json": b"k8s:enc:aescbc:v1:1:",
        "aes-cbc-multiple-providers-reversed.json": b"k8s:enc:aescbc:v1:2:",
        "aes-cbc-multiple-keys.json": b"k8s:enc:aescbc:v1:A:",
        "aes-cbc-multiple-keys-reversed.json": b"k8s:enc:aescbc:v1:B:",
    }
    written = {}
    for name, prefix in expected.items():
        t = build_transformers(load_file(aes / name).config).for_resource("ignored")
        written[name] = t.to_storage(b"data", context=CTX)
        assert written[name].startswith(prefix)
    # each pair reads the other's writes, as stale
    for a, b in [("aes-cbc-multiple-providers", "aes-cbc-multiple-providers-reversed")]:
        t = build_transformers(load_file(aes / f"{b}.json").config).for_resource("ignored")
        result = t.from_storage(written[f"{a}.json"], context=CTX)
        assert result.plaintext == b"data" and result.stale


def test_kms_without_client_is_a_build_error(k8s_fixtures: Path) -> None:
    path = (
        k8s_fixtures
        / "encryptionconfig/config-testdata/valid-configs/kms/multiple-providers-kmsv2.yaml"
    )
    with pytest.raises(ConfigBuildError) as err:
        build_transformers(load_file(path).config)
    assert str(err.value).startswith("error while building transformers: ")
    assert '"foo"' in str(err.value)


def test_kms_v2_with_client(k8s_fixtures: Path) -> None:
    from kcrypt.envelope.kms.fake import Base64KMSv2Client

    path = (
        k8s_fixtures
        / "encryptionconfig/config-testdata/valid-configs/kms/multiple-providers-kmsv2.yaml"
    )
    clients = {"foo": Base64KMSv2Client(), "bar": Base64KMSv2Client()}
    t = build_transformers(load_file(path).config, kms_v2_clients=clients).for_resource("secrets")
    stored = t.to_storage(b"v", context=CTX)
    assert stored.startswith(b"k8s:enc:kms:v2:foo:")
    assert t.from_storage(stored, context=CTX).plaintext == b"v"
    assert isinstance(t, envelope.Chain)


def test_kms_close_grace_period_upstream(k8s_fixtures: Path) -> None:
    expected = dict(_expected(k8s_fixtures)["kms_close_grace_period_upstream"])
    expected.pop("rule")
    assert len(expected) == 6
    for file, period in expected.items():
        config = load_file(k8s_fixtures / file).config
        assert kms_close_grace_period(config) == float(period.removesuffix("s")), file
