"""Chain: upstream's prefix dispatch, stale rules, error aggregation, identity, parse_prefix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from kcrypt.envelope import (
    AggregateError,
    Chain,
    EnvelopeError,
    EnvelopePrefix,
    IdentityRefused,
    InvalidSetup,
    Key,
    NoMatchingPrefix,
    Provider,
    Transformer,
    UnknownKey,
    aescbc,
    aesgcm,
    encrypt_check,
    identity,
    parse_prefix,
    secretbox,
)

from ._support import CONTEXT, keys, load_config_providers

AES_DIR = ("encryptionconfig", "config-testdata", "valid-configs", "aes")


def test_chain_is_a_transformer() -> None:
    assert isinstance(Chain([identity()]), Transformer)
    assert isinstance(encrypt_check(), Transformer)


def test_empty_chain_is_refused() -> None:
    with pytest.raises(InvalidSetup):
        Chain([])


def test_first_provider_writes() -> None:
    chain = Chain([secretbox(keys(32, "a")), aesgcm(keys(32, "b")), identity()])
    assert chain.to_storage(b"v", context=CONTEXT).startswith(b"k8s:enc:secretbox:v1:a:")
    assert Chain([identity(), secretbox(keys(32, "a"))]).to_storage(b"v", context=CONTEXT) == b"v"


def test_identity_later_reads_plaintext_as_stale() -> None:
    chain = Chain([aescbc(keys(32, "k")), identity()])
    result = chain.from_storage(b"k8s\x00plain", context=CONTEXT)
    assert (result.plaintext, result.stale, result.prefix) == (b"k8s\x00plain", True, "")


def test_identity_first_skips_encrypted_data_to_later_providers() -> None:
    ks = keys(32, "k")
    stored = Chain([aesgcm(ks)]).to_storage(b"v", context=CONTEXT)
    result = Chain([identity(), aesgcm(ks)]).from_storage(stored, context=CONTEXT)
    assert (result.plaintext, result.stale) == (b"v", True)


def test_identity_only_refuses_encrypted_data_with_no_matching_prefix() -> None:
    stored = Chain([aesgcm(keys(32, "k"))]).to_storage(b"v", context=CONTEXT)
    with pytest.raises(NoMatchingPrefix) as info:
        Chain([identity()]).from_storage(stored, context=CONTEXT)
    assert info.value.upstream == "no matching prefix found"
    assert info.value.storage_key == "/registry/secrets/default/secret1"


def test_encrypt_check_refuses_encrypted_data() -> None:
    with pytest.raises(IdentityRefused) as info:
        encrypt_check().from_storage(b"k8s:enc:aescbc:v1:k:xxxx", context=CONTEXT)
    assert info.value.upstream == "identity transformer tried to read encrypted data"
    assert encrypt_check().from_storage(b"{}", context=CONTEXT).plaintext == b"{}"
    assert encrypt_check().to_storage(b"{}", context=CONTEXT) == b"{}"


def test_unknown_provider_prefix() -> None:
    with pytest.raises(NoMatchingPrefix, match="no matching prefix found"):
        Chain([aescbc(keys(32, "k"))]).from_storage(b"k8s:enc:kms:v2:x:abc", context=CONTEXT)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (aescbc, "no matching key was found for the provided AES transformer"),
        (aesgcm, "no matching key was found for the provided AES transformer"),
        (secretbox, "no matching key was found for the provided Secretbox transformer"),
    ],
)
def test_unknown_key_reduces_to_the_single_error(
    factory: Callable[[Sequence[Key]], Provider], message: str
) -> None:
    stored = Chain([factory(keys(32, "gone"))]).to_storage(b"v", context=CONTEXT)
    with pytest.raises(UnknownKey) as info:
        Chain([factory(keys(32, "k")), identity()]).from_storage(stored, context=CONTEXT)
    assert info.value.upstream == message
    assert str(info.value).startswith(message)


def test_several_failures_aggregate_like_upstream() -> None:
    stored = Chain([aesgcm(keys(32, "k"))]).to_storage(b"v", context=CONTEXT)
    chain = Chain([aesgcm(keys(32, "k")), aesgcm(keys(32, "other")), aesgcm(keys(16, "k"))])
    with pytest.raises(AggregateError) as info:
        chain.from_storage(stored, context=CONTEXT)
    err = info.value
    # three failures, two distinct upstream messages, flattened and de-duplicated
    assert err.upstream == (
        "[cipher: message authentication failed, "
        "no matching key was found for the provided AES transformer]"
    )
    assert len(err.errors) == 3
    assert str(err).startswith("[cipher: message authentication failed (aesgcm key 'k'")


def test_identical_failures_aggregate_to_one_message() -> None:
    stored = Chain([aesgcm(keys(32, "k"))]).to_storage(b"v", context=CONTEXT)
    with pytest.raises(AggregateError) as info:
        Chain([aesgcm(keys(32, "k")), aesgcm(keys(32, "k"))]).from_storage(stored, context=CONTEXT)
    assert info.value.upstream == "cipher: message authentication failed"


def test_overlapping_providers_second_one_reads() -> None:
    k_old, k_new = keys(32, "k"), keys(32, "k")
    stored = Chain([aescbc(k_old)]).to_storage(b"v" * 40, context=CONTEXT)
    result = Chain([aesgcm(k_new), aescbc(k_new), aescbc(k_old)]).from_storage(
        stored, context=CONTEXT
    )
    assert (result.plaintext, result.stale, result.prefix) == (
        b"v" * 40,
        True,
        "k8s:enc:aescbc:v1:k:",
    )


# --- upstream TestCBCKeyRotationWith{,out}OverlappingProviders --------------------------


@pytest.mark.parametrize(
    ("first", "second", "prefix1", "prefix2"),
    [
        ("aes-cbc-multiple-providers.json", "aes-cbc-multiple-providers-reversed.json", "1", "2"),
        ("aes-cbc-multiple-keys.json", "aes-cbc-multiple-keys-reversed.json", "A", "B"),
    ],
)
def test_cbc_key_rotation(
    k8s_fixtures: Path, first: str, second: str, prefix1: str, prefix2: str
) -> None:
    chain1 = Chain(load_config_providers(k8s_fixtures.joinpath(*AES_DIR, first)))
    chain2 = Chain(load_config_providers(k8s_fixtures.joinpath(*AES_DIR, second)))
    p1 = f"k8s:enc:aescbc:v1:{prefix1}:".encode()
    p2 = f"k8s:enc:aescbc:v1:{prefix2}:".encode()
    context = b"/registry/secrets/default/rotated"

    out = chain1.to_storage(b"firstvalue", context=context)
    assert out.startswith(p1)
    # config 1 reads its own write fresh; config 2 reads it, stale
    assert chain1.from_storage(out, context=context).stale is False
    result = chain2.from_storage(out, context=context)
    assert (result.plaintext, result.stale) == (b"firstvalue", True)

    out = chain2.to_storage(b"secondvalue", context=context)
    assert out.startswith(p2)
    assert chain2.from_storage(out, context=context).stale is False
    result = chain1.from_storage(out, context=context)
    assert (result.plaintext, result.stale) == (b"secondvalue", True)


# --- parse_prefix ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"k8s:enc:aescbc:v1:key1:xx",
            EnvelopePrefix("aescbc", "v1", "key1", "k8s:enc:aescbc:v1:key1:"),
        ),
        (b"k8s:enc:aesgcm:v1:k:", EnvelopePrefix("aesgcm", "v1", "k", "k8s:enc:aesgcm:v1:k:")),
        (
            b"k8s:enc:secretbox:v1:s:\x00",
            EnvelopePrefix("secretbox", "v1", "s", "k8s:enc:secretbox:v1:s:"),
        ),
        (
            b"k8s:enc:kms:v2:myplugin:\n",
            EnvelopePrefix("kms", "v2", "myplugin", "k8s:enc:kms:v2:myplugin:"),
        ),
        (b"k8s:enc:kms:v1:old:\x00", EnvelopePrefix("kms", "v1", "old", "k8s:enc:kms:v1:old:")),
        (b"k8s\x00\x0a\x09", None),
        (b'{"kind":"Secret"}', None),
        (b"", None),
    ],
)
def test_parse_prefix(data: bytes, expected: EnvelopePrefix | None) -> None:
    assert parse_prefix(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"k8s:enc:",
        b"k8s:enc:aescbc:v1:",
        b"k8s:enc:aescbc:v1:key",
        b"k8s:enc:rot13:v1:k:x",
        b"k8s:enc:aescbc:v2:k:x",
        b"k8s:enc:aescbc:v1::x",
        b"k8s:enc:kms:v2:\xff:x",
    ],
)
def test_parse_prefix_refuses_damaged_headers(data: bytes) -> None:
    with pytest.raises(NoMatchingPrefix):
        parse_prefix(data)


def test_every_error_is_an_envelope_error() -> None:
    assert issubclass(InvalidSetup, ValueError)
    assert issubclass(NoMatchingPrefix, EnvelopeError)
