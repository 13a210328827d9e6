"""aescbc, aesgcm, secretbox: byte layouts, upstream vectors, exact error wording."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nacl.secret
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kcrypt.envelope import (
    AuthenticationFailed,
    BadPadding,
    Chain,
    EnvelopeError,
    InvalidKey,
    Key,
    Truncated,
    aescbc,
    aesgcm,
    secretbox,
)
from kcrypt.envelope.aesgcm import GCMTransformer
from kcrypt.envelope.kms.seed import SeedTransformer
from kcrypt.sensitive import SecretBytes

from ._support import CONTEXT

KEY = Key("k", SecretBytes(bytes(range(32))))
CBC_PREFIX = b"k8s:enc:aescbc:v1:k:"


def _cbc_raw(body: bytes, iv: bytes = b"\x00" * 16) -> bytes:
    """A stored aescbc value whose decrypted body is exactly ``body`` (no padding added)."""
    enc = Cipher(algorithms.AES(KEY.secret.reveal()), modes.CBC(iv)).encryptor()
    return CBC_PREFIX + iv + enc.update(body) + enc.finalize()


# --- aescbc -----------------------------------------------------------------------------


def test_aescbc_layout_is_iv_then_pkcs7_cbc() -> None:
    stored = Chain([aescbc([KEY])]).to_storage(b"A" * 16, context=CONTEXT)
    iv, body = stored[len(CBC_PREFIX) : len(CBC_PREFIX) + 16], stored[len(CBC_PREFIX) + 16 :]
    dec = Cipher(algorithms.AES(KEY.secret.reveal()), modes.CBC(iv)).decryptor()
    assert dec.update(body) + dec.finalize() == b"A" * 16 + b"\x10" * 16


@pytest.mark.parametrize(
    ("stored", "kind", "message"),
    [
        (CBC_PREFIX + b"short", Truncated, "the stored data was shorter than the required size"),
        (
            CBC_PREFIX + b"\x00" * 20,
            Truncated,
            "the stored data is not a multiple of the block size",
        ),
        (CBC_PREFIX + b"\x00" * 16, BadPadding, "invalid PKCS7 data (empty or not padded)"),
        (_cbc_raw(b"x" * 15 + b"\x00"), BadPadding, "invalid PKCS7 data (empty or not padded)"),
        (_cbc_raw(b"x" * 15 + b"\x11"), BadPadding, "invalid PKCS7 data (empty or not padded)"),
        (_cbc_raw(b"x" * 14 + b"\x01\x02"), BadPadding, "invalid padding on input"),
    ],
)
def test_aescbc_errors_use_upstream_wording(
    stored: bytes, kind: type[EnvelopeError], message: str
) -> None:
    with pytest.raises(kind) as info:
        Chain([aescbc([KEY])]).from_storage(stored, context=CONTEXT)
    assert info.value.upstream == message
    assert info.value.key_name == "k"
    assert str(info.value) == f"{message} (aescbc key 'k', storage key '{CONTEXT.decode()}')"


def test_aescbc_accepts_padding_longer_than_a_block_like_go() -> None:
    # Go's check allows any pad length up to the body; so must a compatible reader
    result = Chain([aescbc([KEY])]).from_storage(_cbc_raw(b"ab" + b"\x1e" * 30), context=CONTEXT)
    assert result.plaintext == b"ab"


# --- aesgcm -----------------------------------------------------------------------------


def _vectors(k8s_fixtures: Path) -> dict[str, dict[str, str]]:
    doc = json.loads((k8s_fixtures / "vectors" / "aes-gcm-legacy-vectors.json").read_text())
    return {v["name"]: v for v in doc["vectors"]}


def test_aesgcm_upstream_legacy_vector(k8s_fixtures: Path) -> None:
    v = _vectors(k8s_fixtures)["aes-gcm-random-nonce-legacy"]
    key = Key("snorlax", SecretBytes(bytes.fromhex(v["key_hex"])))
    stored = b"k8s:enc:aesgcm:v1:snorlax:" + bytes.fromhex(v["ciphertext_hex"])
    result = Chain([aesgcm([key])]).from_storage(stored, context=v["aad_ascii"].encode())
    assert result.plaintext == b"pandas are the best"
    assert (
        GCMTransformer(key)
        .from_storage(bytes.fromhex(v["ciphertext_hex"]), context=b"bamboo")
        .plaintext
        == b"pandas are the best"
    )


def test_hkdf_extended_nonce_upstream_legacy_vector(k8s_fixtures: Path) -> None:
    v = _vectors(k8s_fixtures)["hkdf-sha256-xnonce-aes-gcm-legacy"]
    seed = SeedTransformer(SecretBytes(bytes.fromhex(v["seed_hex"])), name="seed")
    result = seed.from_storage(bytes.fromhex(v["ciphertext_hex"]), context=b"bamboo")
    assert result.plaintext == b"pandas are the best"
    with pytest.raises(AuthenticationFailed):
        seed.from_storage(bytes.fromhex(v["ciphertext_hex"]), context=b"bambo0")
    with pytest.raises(Truncated, match="missing the required info prefix"):
        seed.from_storage(b"\x00" * 31, context=b"bamboo")


def test_aesgcm_layout_is_nonce_ciphertext_tag() -> None:
    stored = Chain([aesgcm([KEY])]).to_storage(b"hello", context=CONTEXT)
    body = stored[len(b"k8s:enc:aesgcm:v1:k:") :]
    assert len(body) == 12 + 5 + 16
    assert AESGCM(KEY.secret.reveal()).decrypt(body[:12], body[12:], CONTEXT) == b"hello"


def test_aesgcm_errors() -> None:
    chain = Chain([aesgcm([KEY])])
    with pytest.raises(Truncated, match=r"^the stored data was shorter than the required size"):
        chain.from_storage(b"k8s:enc:aesgcm:v1:k:" + b"\x00" * 11, context=CONTEXT)
    with pytest.raises(AuthenticationFailed, match=r"^cipher: message authentication failed"):
        chain.from_storage(b"k8s:enc:aesgcm:v1:k:" + b"\x00" * 12, context=CONTEXT)


# --- secretbox --------------------------------------------------------------------------


def test_secretbox_layout_is_nacl_nonce_tag_ciphertext() -> None:
    stored = Chain([secretbox([KEY])]).to_storage(b"hello", context=CONTEXT)
    body = stored[len(b"k8s:enc:secretbox:v1:k:") :]
    assert len(body) == 24 + 16 + 5
    box = nacl.secret.SecretBox(KEY.secret.reveal())
    assert box.decrypt(body[24:], body[:24]) == b"hello"


def test_secretbox_errors() -> None:
    chain = Chain([secretbox([KEY])])
    with pytest.raises(Truncated, match=r"^the stored data was shorter than the required size"):
        chain.from_storage(b"k8s:enc:secretbox:v1:k:" + b"\x00" * 39, context=CONTEXT)
    with pytest.raises(
        AuthenticationFailed, match=r"^output array was not large enough for encryption"
    ):
        chain.from_storage(b"k8s:enc:secretbox:v1:k:" + b"\x00" * 40, context=CONTEXT)


# --- key sizes --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 8, 15, 17, 31, 33, 64])
def test_aes_key_sizes_are_checked(size: int) -> None:
    bad = [Key("bad", SecretBytes(os.urandom(size)))]
    for factory in (aescbc, aesgcm):
        with pytest.raises(InvalidKey, match=f"crypto/aes: invalid key size {size}"):
            factory(bad)


@pytest.mark.parametrize("size", [16, 24, 31, 33])
def test_secretbox_key_size_is_checked(size: int) -> None:
    with pytest.raises(
        InvalidKey, match=f"expected key size 32 for secretbox provider, got {size}"
    ):
        secretbox([Key("bad", SecretBytes(os.urandom(size)))])


def test_no_keys_is_refused() -> None:
    for factory in (aescbc, aesgcm, secretbox):
        with pytest.raises(ValueError):
            factory([])
