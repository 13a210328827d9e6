"""KMS v2: upstream's recorded etcd values, seed lifecycle, staleness, validation, cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcrypt.envelope import (
    Base64KMSv2Client,
    Chain,
    InvalidEncryptedObject,
    InvalidSetup,
    KMSError,
    aesgcm,
    kms_v2,
    parse_prefix,
)
from kcrypt.envelope.kms import object as eo
from kcrypt.envelope.kms.fake import LOCAL_KEK_ANNOTATION
from kcrypt.envelope.kms.v2 import KMSv2Transformer

from ._support import CONTEXT, keys

PREFIX = b"k8s:enc:kms:v2:kms-provider:"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _records(k8s_fixtures: Path) -> list[dict[str, Any]]:
    base = k8s_fixtures / "vectors" / "kmsv2-legacy-etcd"
    return json.loads((base / "kmsv2-legacy-records.json").read_text())["records"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("index", [0, 1], ids=["aes-gcm-key-v1.27", "hkdf-seed-v1.28"])
def test_upstream_recorded_values_decrypt(k8s_fixtures: Path, index: int) -> None:
    record = _records(k8s_fixtures)[index]
    vectors = k8s_fixtures / "vectors"
    stored = (vectors / record["etcd_value_file"]).read_bytes()
    expected = (vectors / record["decrypted_plaintext_file"]).read_bytes()
    client = Base64KMSv2Client()
    chain = Chain([kms_v2("kms-provider", client)])
    result = chain.from_storage(stored, context=record["etcd_key_and_aad"].encode())
    assert result.plaintext == expected
    assert result.prefix == "k8s:enc:kms:v2:kms-provider:"
    # same keyID; only the AES_GCM_KEY record differs in type from what we write now
    assert result.stale is (record["encrypted_object"]["encryptedDEKSourceType"] == 0)
    chain.from_storage(stored, context=record["etcd_key_and_aad"].encode())
    assert client.calls["decrypt"] == 1  # the DEK source is cached
    parsed = parse_prefix(stored)
    assert parsed is not None and (parsed.provider, parsed.version, parsed.key_name) == (
        "kms",
        "v2",
        "kms-provider",
    )


def test_write_reuses_one_seed_until_key_id_changes() -> None:
    client, clock = Base64KMSv2Client(), Clock()
    provider = kms_v2("kms-provider", client, clock=clock)
    chain = Chain([provider])
    a = eo.decode(
        chain.to_storage(b"a", context=CONTEXT)[len(PREFIX) :], provider="p", storage_key=""
    )
    b = eo.decode(
        chain.to_storage(b"b", context=CONTEXT)[len(PREFIX) :], provider="p", storage_key=""
    )
    assert client.calls["encrypt"] == 1
    assert a.encryptedDEKSource == b.encryptedDEKSource
    assert a.encryptedData[:32] != b.encryptedData[:32]  # fresh HKDF info per write
    assert (a.keyID, a.encryptedDEKSourceType) == ("1", eo.HKDF_SHA256_XNONCE_AES_GCM_SEED)
    assert dict(a.annotations) == {LOCAL_KEK_ANNOTATION: b"encrypted-local-kek"}

    old = chain.to_storage(b"old", context=CONTEXT)
    client.update_key_id("2")
    clock.now += 61  # next status probe sees the new key ID
    new = chain.to_storage(b"new", context=CONTEXT)
    assert client.calls["encrypt"] == 2
    assert eo.decode(new[len(PREFIX) :], provider="p", storage_key="").keyID == "2"
    assert chain.from_storage(old, context=CONTEXT).stale is True
    assert chain.from_storage(new, context=CONTEXT).stale is False


def test_explicit_refresh_rotates_immediately() -> None:
    client = Base64KMSv2Client()
    provider = kms_v2("p", client)
    assert isinstance(provider.transformer, KMSv2Transformer)
    old = Chain([provider]).to_storage(b"v", context=CONTEXT)
    client.update_key_id("2")
    provider.transformer.refresh()
    assert Chain([provider]).from_storage(old, context=CONTEXT).stale is True


def test_same_key_id_other_seed_is_not_stale() -> None:
    client = Base64KMSv2Client()
    stored = Chain([kms_v2("p", client)]).to_storage(b"v", context=CONTEXT)
    other_server = Chain([kms_v2("p", client)])
    other_server.to_storage(b"x", context=CONTEXT)
    assert other_server.from_storage(stored, context=CONTEXT).stale is False


def test_writes_expire_three_minutes_after_last_healthy_status() -> None:
    client, clock = Base64KMSv2Client(), Clock()
    chain = Chain([kms_v2("p", client, clock=clock)])
    stored = chain.to_storage(b"v", context=CONTEXT)
    client.failed = True
    clock.now += 170
    chain.to_storage(b"still ok", context=CONTEXT)  # probe fails, DEK still valid
    clock.now += 11
    with pytest.raises(KMSError, match=r"encryptedDEKSource with keyID hash \"sha256:"):
        chain.to_storage(b"v", context=CONTEXT)
    assert chain.from_storage(stored, context=CONTEXT).plaintext == b"v"  # reads never expire
    client.failed = False
    clock.now += 10
    chain.to_storage(b"recovered", context=CONTEXT)


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("healthz", "broken", "got unexpected healthz status: broken"),
        ("version", "v1beta1", "expected KMSv2 API version v2, got v1beta1"),
        ("key_id", "", 'got invalid KMSv2 KeyID hash "": keyID is empty'),
    ],
)
def test_unhealthy_status(attr: str, value: str, message: str) -> None:
    client = Base64KMSv2Client()
    setattr(client, attr, value)
    with pytest.raises(KMSError) as info:
        Chain([kms_v2("p", client)]).to_storage(b"v", context=CONTEXT)
    assert info.value.upstream == f"kmsv2 Provider p is not healthy, error: {message}"


def test_plugin_decrypt_failure_is_wrapped() -> None:
    client = Base64KMSv2Client()
    stored = Chain([kms_v2("p", client)]).to_storage(b"v", context=CONTEXT)
    fresh_client = Base64KMSv2Client()
    reader = Chain([kms_v2("p", fresh_client)])
    reader.to_storage(b"x", context=CONTEXT)
    fresh_client.failed = True
    with pytest.raises(KMSError) as info:
        reader.from_storage(stored, context=CONTEXT)
    assert info.value.upstream == "failed to decrypt DEK, error: failed precondition - key disabled"
    assert info.value.__cause__ is not None


def _stored_object(**changes: object) -> bytes:
    obj = eo.EncryptedObject(
        encryptedData=b"\x01" * 60,
        keyID="1",
        encryptedDEKSource=b"c2VlZA==",
        annotations={"a.example.com": b"x"},
        encryptedDEKSourceType=eo.HKDF_SHA256_XNONCE_AES_GCM_SEED,
    )
    for name, value in changes.items():
        if name == "annotations":
            obj.annotations.clear()
            obj.annotations.update(value)
        else:
            setattr(obj, name, value)
    return PREFIX + bytes(obj.SerializeToString())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"encryptedDEKSourceType": 7}, "unknown encryptedDEKSourceType: 7"),
        ({"encryptedData": b""}, "encrypted data is empty"),
        (
            {"encryptedDEKSource": b""},
            "failed to validate encrypted DEK source: encrypted DEK source is empty",
        ),
        (
            {"encryptedDEKSource": b"x" * 1025},
            "failed to validate encrypted DEK source: encrypted DEK source is 1025 bytes, "
            "which exceeds the max size of 1024",
        ),
        ({"keyID": ""}, "failed to validate key id: keyID is empty"),
        (
            {"keyID": "k" * 1025},
            "failed to validate key id: keyID is 1025 bytes, which exceeds the max size of 1024",
        ),
        (
            {"annotations": {"nodots": b"x"}},
            'failed to validate annotations: annotations: Invalid value: "nodots": '
            "should be a domain with at least two segments separated by dots",
        ),
        (
            {"annotations": {"a.example.com": b"x" * 32768}},
            "failed to validate annotations: total size of annotations is 32781, "
            "which exceeds the max size of 32768",
        ),
    ],
)
def test_invalid_encrypted_objects(changes: dict[str, object], message: str) -> None:
    chain = Chain([kms_v2("kms-provider", Base64KMSv2Client())])
    with pytest.raises(InvalidEncryptedObject) as info:
        chain.from_storage(_stored_object(**changes), context=CONTEXT)
    assert info.value.upstream == message
    assert info.value.key_name == "kms-provider"


def test_undecodable_object() -> None:
    chain = Chain([kms_v2("kms-provider", Base64KMSv2Client())])
    with pytest.raises(InvalidEncryptedObject, match="failed to decode EncryptedObject"):
        chain.from_storage(PREFIX + b"\xff\xff\xff", context=CONTEXT)


def test_wrong_seed_length_from_plugin() -> None:
    import base64

    stored = _stored_object(encryptedDEKSource=base64.b64encode(b"short seed"))
    with pytest.raises(KMSError, match="invalid seed length 10 used for key generation"):
        Chain([kms_v2("kms-provider", Base64KMSv2Client())]).from_storage(stored, context=CONTEXT)


def test_cache_key_matches_upstream_layout() -> None:
    raw = (
        b"\x00\x00\x00\x01"
        + b"\x00\x03src"
        + b"\x00\x01k"
        + b"\x00\x00\x00\x02"
        + b"\x00\x01a\x00\x01x"
        + b"\x00\x01b\x00\x01y"
    )
    import hashlib

    assert eo.cache_key(1, b"src", "k", {"b": b"y", "a": b"x"}) == hashlib.sha256(raw).digest()
    assert (
        eo.cache_key(0, b"src", "k", {})
        == hashlib.sha256(b"\x00\x00\x00\x00\x00\x03src\x00\x01k").digest()
    )


def test_provider_name_is_checked() -> None:
    with pytest.raises(InvalidSetup):
        kms_v2("a:b", Base64KMSv2Client())


def test_kms_first_then_local_key_provider() -> None:
    ks = keys(32, "k")
    old = Chain([aesgcm(ks)]).to_storage(b"v", context=CONTEXT)
    chain = Chain([kms_v2("p", Base64KMSv2Client()), aesgcm(ks)])
    result = chain.from_storage(old, context=CONTEXT)
    assert (result.plaintext, result.stale, result.prefix) == (b"v", True, "k8s:enc:aesgcm:v1:k:")
