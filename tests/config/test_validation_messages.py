"""kube-apiserver's validation messages, embedded so the suite checks them without the fixtures.

Each case is one ``resources`` list and the message upstream's validation code
(validation_encryption.go with apimachinery's field errors) gives for it; the
fixture-driven tests check the same rules against upstream's own files when
those are present. Configs are written as JSON, which the loader reads as YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcrypt.config import ConfigInvalid, ConfigLoadError, kms_close_grace_period, load, load_file

S16 = "c2VjcmV0IGlzIHNlY3VyZQ=="  # "secret is secure", 16 bytes
AESGCM = {"aesgcm": {"keys": [{"name": "key1", "secret": S16}]}}
SOCK = "unix:///tmp/kms.sock"
P0 = "resources[0].providers[0]"
REDACTED = 'Invalid value: "REDACTED"'
OVERLAP = (
    "using overlapping resources such as 'secrets' and '*.' in the same resource list "
    "is not allowed as they will be masked"
)
EVENTS = (
    "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. "
    "Use 'events' instead in the config file"
)
STAR = "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"


def kms(**fields: Any) -> dict[str, Any]:
    return {"kms": fields}


def config(*entries: dict[str, Any]) -> bytes:
    doc = {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": list(entries),
    }
    return json.dumps(doc).encode()


def entry(resources: list[str], *providers: dict[str, Any]) -> dict[str, Any]:
    return {"resources": resources, "providers": list(providers or [AESGCM])}


def keyed(provider: str, **key: str) -> dict[str, Any]:
    return {provider: {"keys": [key]}}


INVALID: list[tuple[str, bytes, str]] = [
    ("no resources", config(), "resources: Required value: at least one resources is required"),
    (
        "no providers",
        config({"resources": ["secrets"]}),
        "resources[0].providers: Required value: at least one resources[0].providers is required",
    ),
    (
        "no resource names",
        config({"providers": [AESGCM]}),
        "resources[0].resources: Required value: at least one resources[0].resources is required",
    ),
    (
        "events group",
        config(entry(["events.events.k8s.io"])),
        f'resources[0].resources[0]: Invalid value: "events.events.k8s.io": {EVENTS}',
    ),
    (
        "extensions group",
        config(entry(["*.extensions"])),
        'resources[0].resources[0]: Invalid value: "*.extensions": '
        "'extensions' group has been removed and cannot be used for encryption",
    ),
    ("bare star", config(entry(["*"])), f'resources[0].resources[0]: Invalid value: "*": {STAR}'),
    (
        "capital letters",
        config(entry(["apiServerIPInfo"])),
        'resources[0].resources[0]: Invalid value: "apiServerIPInfo": '
        "resource name should not contain capital letters",
    ),
    (
        "non-REST resource",
        config(entry(["serviceipallocations"])),
        'resources[0].resources[0]: Invalid value: "serviceipallocations": '
        "resources which do not have REST API/s cannot be encrypted",
    ),
    (
        "across groups",
        config(entry(["*.", "foos.*"])),
        'resources[0].resources[1]: Invalid value: "foos.*": '
        "encrypting the same resource across groups is not supported",
    ),
    (
        "duplicate via trailing dot",
        config(entry(["secrets", "secrets."])),
        'resources[0].resources: Invalid value: ["secrets","secrets."]: '
        "the same resource cannot be specified multiple times",
    ),
    (
        "overlap with *.",
        config(entry(["secrets", "*."])),
        f'resources[0].resources: Invalid value: ["secrets","*."]: {OVERLAP}',
    ),
    (
        "overlap with *.*",
        config(entry(["*.apps", "*.", "*.*"])),
        f'resources[0].resources: Invalid value: ["*.apps","*.","*.*"]: {OVERLAP}',
    ),
    (
        "aesgcm key of 6 bytes",
        config(entry(["secrets"], keyed("aesgcm", name="key1", secret="c2VjcmV0"))),
        f"{P0}.aesgcm.keys[0].secret: {REDACTED}: "
        "secret is not of the expected length, got 6, expected one of [16 24 32]",
    ),
    (
        "secretbox key of 16 bytes",
        config(entry(["secrets"], keyed("secretbox", name="key1", secret=S16))),
        f"{P0}.secretbox.keys[0].secret: {REDACTED}: "
        "secret is not of the expected length, got 16, expected one of [32]",
    ),
    (
        "secret not base64",
        config(entry(["secrets"], keyed("aescbc", name="key1", secret="not base64!"))),
        f"{P0}.aescbc.keys[0].secret: {REDACTED}: secrets must be base64 encoded",
    ),
    (
        "key without name",
        config(entry(["secrets"], keyed("aescbc", secret=S16))),
        f"{P0}.aescbc.keys[0].name: Required value: name is a mandatory field for a key",
    ),
    (
        "key without secret",
        config(entry(["secrets"], keyed("aescbc", name="key1"))),
        f"{P0}.aescbc.keys[0].secret: Required value: secret is a mandatory field for a key",
    ),
    (
        "kms v2 with cachesize",
        config(entry(["secrets"], kms(apiVersion="v2", name="foo", endpoint=SOCK, cachesize=10))),
        f"{P0}.kms.cachesize: Invalid value: 10: cachesize is not supported in v2",
    ),
    (
        "kms v1 cachesize 0",
        config(entry(["secrets"], kms(name="foo", endpoint=SOCK, cachesize=0))),
        f"{P0}.kms.cachesize: Invalid value: 0: "
        "cachesize should be a positive value, or negative to disable",
    ),
    (
        "kms timeout 0s",
        config(entry(["secrets"], kms(apiVersion="v2", name="foo", endpoint=SOCK, timeout="0s"))),
        f'{P0}.kms.timeout: Invalid value: "0s": timeout should be a positive value',
    ),
    (
        "kms without endpoint",
        config(entry(["secrets"], kms(apiVersion="v2", name="foo"))),
        f'{P0}.kms.endpoint: Invalid value: "": endpoint is a mandatory field for a kms',
    ),
    (
        "kms endpoint not unix",
        config(
            entry(["secrets"], kms(apiVersion="v2", name="foo", endpoint="https://www.foo.com"))
        ),
        f'{P0}.kms.endpoint: Invalid value: "https://www.foo.com": '
        'unsupported scheme "https" for KMS provider, only unix is supported',
    ),
    (
        "kms without name",
        config(entry(["secrets"], kms(apiVersion="v2", endpoint=SOCK))),
        f"{P0}.kms.name: Required value: name is a mandatory field for a provider",
    ),
    (
        "kms v2 name with a colon",
        config(entry(["secrets"], kms(apiVersion="v2", name="foo:bar", endpoint=SOCK))),
        f'{P0}.kms.name: Invalid value: "foo:bar": '
        "invalid KMS provider name foo:bar, must not contain ':'",
    ),
    (
        "kms v2 name after a v1 of that name",
        config(
            entry(
                ["secrets"],
                kms(name="foo", endpoint=SOCK),
                kms(apiVersion="v2", name="foo", endpoint="unix:///tmp/kms2.sock"),
            )
        ),
        'resources[0].providers[1].kms.name: Invalid value: "foo": '
        "duplicate KMS provider name foo, names must be unique",
    ),
    (
        "kms apiVersion v3",
        config(entry(["secrets"], kms(apiVersion="v3", name="foo", endpoint=SOCK))),
        f'{P0}.kms.apiVersion: Invalid value: "v3": '
        "unsupported apiVersion apiVersion for KMS provider, only v1 and v2 are supported",
    ),
    (
        "two errors aggregate",
        config(entry(["*"], {"secretbox": {"keys": []}})),
        f'[resources[0].resources[0]: Invalid value: "*": {STAR}, '
        f"{P0}.secretbox.keys: Required value: at least one keys is required]",
    ),
]

VALID: list[tuple[str, bytes]] = [
    ("*.apps and *.", config(entry(["*.apps", "*."]))),
    ("deployments.apps and *.", config(entry(["deployments.apps", "*."]))),
    ("aescbc 16-byte key", config(entry(["secrets"], keyed("aescbc", name="key1", secret=S16)))),
    (
        "kms v1 negative cachesize",
        config(entry(["secrets"], kms(name="f", endpoint=SOCK, cachesize=-1))),
    ),
    ("kms v1 name with a colon", config(entry(["secrets"], kms(name="foo:bar", endpoint=SOCK)))),
]


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_an_invalid_config_is_refused_with_upstreams_message(data: bytes, expected: str) -> None:
    with pytest.raises(ConfigInvalid) as err:
        load(data)
    assert err.value.aggregate == expected
    assert str(err.value) == "error while parsing file: " + expected


@pytest.mark.parametrize("data", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_a_valid_config_loads(data: bytes) -> None:
    assert load(data).config.resources


def test_duplicate_kms_v1_names_pass_at_startup_and_fail_on_reload() -> None:
    data = config(
        entry(["secrets"], kms(name="foo", endpoint=SOCK), kms(name="foo", endpoint=SOCK + "2"))
    )
    load(data)
    with pytest.raises(ConfigInvalid) as err:
        load(data, reload=True)
    assert err.value.aggregate == (
        'resources[0].providers[1].kms.name: Invalid value: "foo": '
        "duplicate KMS provider name foo, names must be unique"
    )


def test_kms_defaults_and_the_close_grace_period() -> None:
    """v1 gets cachesize 1000 and both a 3s timeout; the grace is 2 x (v1: 2 x t, v2: t)."""
    data = config(
        entry(
            ["secrets"],
            kms(name="one", endpoint=SOCK),
            kms(apiVersion="v2", name="two", endpoint=SOCK, timeout="7s"),
        )
    )
    cfg = load(data).config
    v1, v2 = (p.kms for p in cfg.resources[0].providers)
    assert v1 is not None and v2 is not None
    assert (v1.api_version, v1.cachesize, v1.timeout_seconds) == ("v1", 1000, 3.0)
    assert (v2.api_version, v2.cachesize, v2.timeout_seconds) == ("v2", None, 7.0)
    assert kms_close_grace_period(cfg) == 2 * (2 * 3.0 + 7.0)


def test_unreadable_files_are_named_as_go_names_them(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigLoadError) as err:
        load_file(missing)
    assert str(err.value) == (
        "error while parsing file: error while loading file: error reading encryption provider "
        f'configuration file "{missing}": open {missing}: no such file or directory'
    )
    with pytest.raises(ConfigLoadError) as err:
        load_file(tmp_path)
    assert str(err.value).endswith(f"read {tmp_path}: is a directory")
