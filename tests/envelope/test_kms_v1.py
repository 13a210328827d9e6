"""KMS v1 (deprecated upstream): length-prefixed DEK, GCM payload, CBC fallback is stale."""

from __future__ import annotations

import base64
import os
import struct

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kcrypt.envelope import Base64KMSv1Client, Chain, KMSError, Truncated, kms_v1

from ._support import CONTEXT

PREFIX = b"k8s:enc:kms:v1:old:"


def test_layout_and_round_trip() -> None:
    client = Base64KMSv1Client()
    chain = Chain([kms_v1("old", client)])
    stored = chain.to_storage(b"hello", context=CONTEXT)
    body = stored[len(PREFIX) :]
    (size,) = struct.unpack(">H", body[:2])
    assert len(base64.b64decode(body[2 : 2 + size])) == 32  # the DEK, "encrypted" by the fake
    assert len(body) == 2 + size + 12 + 5 + 16  # GCM payload
    assert chain.from_storage(stored, context=CONTEXT).plaintext == b"hello"
    assert client.calls["decrypt"] == 0  # written DEKs are cached


def test_cbc_payload_from_old_apiservers_is_read_stale() -> None:
    dek = os.urandom(32)
    enc_dek = base64.b64encode(dek)
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(b"legacy value") + padder.finalize()
    enc = Cipher(algorithms.AES(dek), modes.CBC(iv)).encryptor()
    payload = iv + enc.update(padded) + enc.finalize()
    stored = PREFIX + struct.pack(">H", len(enc_dek)) + enc_dek + payload
    result = Chain([kms_v1("old", Base64KMSv1Client())]).from_storage(stored, context=CONTEXT)
    assert (result.plaintext, result.stale, result.prefix) == (
        b"legacy value",
        True,
        PREFIX.decode(),
    )


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x00\x05abc"])
def test_bad_length_prefix(body: bytes) -> None:
    with pytest.raises(Truncated) as info:
        Chain([kms_v1("old", Base64KMSv1Client())]).from_storage(PREFIX + body, context=CONTEXT)
    assert info.value.upstream == (
        "invalid data encountered by envelope transformer: "
        "failed to read uint16 length prefixed data"
    )


def test_plugin_failure() -> None:
    client = Base64KMSv1Client()
    stored = Chain([kms_v1("old", client)]).to_storage(b"v", context=CONTEXT)
    reader_client = Base64KMSv1Client()
    reader_client.failed = True
    with pytest.raises(KMSError, match="failed to decrypt DEK"):
        Chain([kms_v1("old", reader_client)]).from_storage(stored, context=CONTEXT)


def test_cache_is_bounded() -> None:
    client = Base64KMSv1Client()
    writer = Chain([kms_v1("old", client)])
    values = [writer.to_storage(b"v%d" % i, context=CONTEXT) for i in range(5)]
    reader_client = Base64KMSv1Client()
    reader = Chain([kms_v1("old", reader_client, cache_size=2)])
    for _ in range(2):
        for value in values:
            reader.from_storage(value, context=CONTEXT)
    assert reader_client.calls["decrypt"] == 10
