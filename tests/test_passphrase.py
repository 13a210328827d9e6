"""Passphrase sealing: round trip, wrong secret, moved blob, damaged text, no leaks."""

from __future__ import annotations

import pytest

from kcrypt.passphrase import (
    ScryptParams,
    SealedFormatError,
    WrongPassphrase,
    is_sealed,
    open_sealed,
    seal,
)

FAST = ScryptParams(log2_n=10)


def test_sealed_data_opens_with_its_secret_and_aad() -> None:
    text = seal(b"aescbc key bytes", "correct horse", aad=b"bundle", params=FAST)
    assert is_sealed(text)
    assert text.startswith("kcrypt-sealed:v1:scrypt:10:8:1:")
    assert open_sealed(text, "correct horse", aad=b"bundle") == b"aescbc key bytes"


def test_every_seal_has_its_own_salt_and_nonce() -> None:
    assert seal(b"x", "pw", params=FAST) != seal(b"x", "pw", params=FAST)


def test_a_wrong_secret_is_refused_without_echoing_it() -> None:
    text = seal(b"k", "right-secret", params=FAST)
    with pytest.raises(WrongPassphrase) as err:
        open_sealed(text, "wrong-secret", what="key bundle")
    assert "wrong-secret" not in str(err.value) and "right-secret" not in str(err.value)
    assert "key bundle" in str(err.value)


def test_a_blob_moved_to_another_place_does_not_open() -> None:
    text = seal(b"k", "pw", aad=b"/kcrypt/encryption/state", params=FAST)
    with pytest.raises(WrongPassphrase):
        open_sealed(text, "pw", aad=b"/kcrypt/other")


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "kcrypt-sealed:v1:scrypt:10:8:1:not base64!",
        "kcrypt-sealed:v1:scrypt:x:8:1:AAAA",
        "kcrypt-sealed:v1:scrypt:10:8:1:AAAA",
        "kcrypt-sealed:v1:scrypt:40:8:1:" + "A" * 64,
    ],
)
def test_damaged_text_is_a_format_error(text: str) -> None:
    with pytest.raises(SealedFormatError):
        open_sealed(text, "pw")


def test_one_flipped_byte_is_refused() -> None:
    text = seal(b"payload", "pw", params=FAST)
    head, _, blob = text.rpartition(":")
    flipped = blob[:-6] + ("A" if blob[-6] != "A" else "B") + blob[-5:]
    with pytest.raises((WrongPassphrase, SealedFormatError)):
        open_sealed(f"{head}:{flipped}", "pw")
