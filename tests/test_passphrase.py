"""Passphrase sealing: round trip, wrong secret, moved blob, damaged text, no leaks."""

from __future__ import annotations

import pytest

from kcrypt.passphrase import (
    ScryptParams,
    SealedFormatError,
    Sealer,
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


def test_a_sealer_derives_once_per_salt_and_reseals_with_the_salt_it_opened() -> None:
    a = Sealer("cluster-token-0123456789", params=FAST)
    first = a.seal(b"state v1", aad=b"/kcrypt/encryption/state")
    b = Sealer("cluster-token-0123456789", params=FAST)
    assert b.open(first, aad=b"/kcrypt/encryption/state") == b"state v1"
    again = b.seal(b"state v2", aad=b"/kcrypt/encryption/state")

    def salt_of(text: str) -> str:  # the base64 of the salt leads the blob
        return text.rpartition(":")[2][:20]

    assert salt_of(again) == salt_of(first)
    assert open_sealed(again, "cluster-token-0123456789", aad=b"/kcrypt/encryption/state") == (
        b"state v2"
    )
    with pytest.raises(WrongPassphrase):
        Sealer("another-token-0123456789", params=FAST).open(again, aad=b"/kcrypt/encryption/state")
    assert "cluster-token" not in repr(a)
