"""parse_prefix with k3s key names, which contain ':' (RFC 3339 times)."""

from __future__ import annotations

import pytest

from kcrypt.envelope import (
    Chain,
    EnvelopePrefix,
    NoMatchingPrefix,
    aescbc,
    aesgcm,
    parse_prefix,
    secretbox,
)

from ._support import CONTEXT, keys

K3S_NAME = "aescbckey-2021-12-10T22:54:38Z"
OTHER_K3S_NAME = "aescbckey-2026-03-09T09:46:54+01:00"


@pytest.mark.parametrize(
    ("factory", "kind", "size"),
    [(aescbc, "aescbc", 32), (aesgcm, "aesgcm", 32), (secretbox, "secretbox", 32)],
)
def test_a_known_k3s_name_is_read_whole(factory, kind: str, size: int) -> None:  # type: ignore[no-untyped-def]
    stored = Chain([factory(keys(size, K3S_NAME))]).to_storage(b"value", context=CONTEXT)
    expected = f"k8s:enc:{kind}:v1:{K3S_NAME}:"
    header = parse_prefix(stored, known_names=[OTHER_K3S_NAME, K3S_NAME])
    assert header == EnvelopePrefix(kind, "v1", K3S_NAME, expected)


def test_the_header_matches_what_a_read_through_the_provider_reports() -> None:
    chain = Chain([aescbc(keys(32, K3S_NAME))])
    stored = chain.to_storage(b"value", context=CONTEXT)
    header = parse_prefix(stored, known_names=[K3S_NAME])
    assert header is not None
    assert header.prefix == chain.from_storage(stored, context=CONTEXT).prefix


def test_without_known_names_a_name_ends_at_its_first_colon() -> None:
    data = f"k8s:enc:aescbc:v1:{K3S_NAME}:ciphertext".encode()
    header = parse_prefix(data)
    assert header == EnvelopePrefix(
        "aescbc", "v1", "aescbckey-2021-12-10T22", "k8s:enc:aescbc:v1:aescbckey-2021-12-10T22:"
    )


def test_the_longest_known_name_that_fits_wins() -> None:
    data = b"k8s:enc:aescbc:v1:a:b:c:ciphertext"
    header = parse_prefix(data, known_names=["a", "a:b", "a:b:c:d"])
    assert header == EnvelopePrefix("aescbc", "v1", "a:b", "k8s:enc:aescbc:v1:a:b:")


def test_known_names_that_do_not_fit_fall_back_to_the_first_colon() -> None:
    data = f"k8s:enc:secretbox:v1:{K3S_NAME}:x".encode()
    header = parse_prefix(data, known_names=[OTHER_K3S_NAME, ""])
    assert header is not None and header.key_name == "aescbckey-2021-12-10T22"


def test_a_known_name_must_be_followed_by_a_colon() -> None:
    data = f"k8s:enc:aescbc:v1:{K3S_NAME}x:ciphertext".encode()
    header = parse_prefix(data, known_names=[K3S_NAME])
    assert header is not None and header.key_name == "aescbckey-2021-12-10T22"


@pytest.mark.parametrize(
    "data", [b"k8s:enc:aescbc:v1:", b"k8s:enc:rot13:v1:aescbckey-2021-12-10T22:54:38Z:x"]
)
def test_known_names_do_not_make_a_damaged_header_readable(data: bytes) -> None:
    with pytest.raises(NoMatchingPrefix):
        parse_prefix(data, known_names=[K3S_NAME])


def test_plaintext_stays_plaintext_with_known_names() -> None:
    assert parse_prefix(b"k8s\x00\x0a\x09", known_names=[K3S_NAME]) is None
