"""The contract every provider keeps, at every key size (DESIGN.md: one suite per seam)."""

from __future__ import annotations

import pytest

from kcrypt.envelope import (
    AggregateError,
    AuthenticationFailed,
    BadPadding,
    Chain,
    EnvelopeError,
    KMSError,
    UnknownKey,
    parse_prefix,
)

from ._support import (
    CASES,
    CONTEXT,
    ENCRYPTING,
    EXPECTED_PREFIX,
    KEYED,
    Case,
    keys,
    same_names_other_bytes,
)

PLAINTEXTS = [b"", b"x", b"k8s\x00" + bytes(range(256)), b"\x10" * 16, b"{}" * 1000]


@pytest.fixture(params=CASES, ids=lambda c: c.id)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=ENCRYPTING, ids=lambda c: c.id)
def enc_case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("plaintext", PLAINTEXTS, ids=lambda p: f"{len(p)}B")
def test_round_trip(case: Case, plaintext: bytes) -> None:
    chain = Chain([case.build(keys(case.key_size, "key1"))])
    stored = chain.to_storage(plaintext, context=CONTEXT)
    result = chain.from_storage(stored, context=CONTEXT)
    assert result.plaintext == plaintext
    assert result.stale is False
    if case.encrypts and len(plaintext) > 8:
        assert plaintext not in stored


def test_prefix_layout(case: Case) -> None:
    chain = Chain([case.build(keys(case.key_size, "key1"))])
    stored = chain.to_storage(b"payload", context=CONTEXT)
    prefix = EXPECTED_PREFIX[case.kind].format(name="key1")
    assert stored.startswith(prefix.encode())
    assert chain.from_storage(stored, context=CONTEXT).prefix == prefix
    parsed = parse_prefix(stored)
    if case.encrypts:
        assert parsed is not None and parsed.prefix == prefix
    else:
        assert parsed is None


def test_each_write_is_fresh(enc_case: Case) -> None:
    chain = Chain([enc_case.build(keys(enc_case.key_size, "key1"))])
    assert chain.to_storage(b"same", context=CONTEXT) != chain.to_storage(b"same", context=CONTEXT)


def test_wrong_key_is_a_typed_error(enc_case: Case) -> None:
    ks = keys(enc_case.key_size, "key1")
    stored = Chain([enc_case.build(ks)]).to_storage(b"secret value", context=CONTEXT)
    reader = Chain([enc_case.build(same_names_other_bytes(ks))])
    with pytest.raises(EnvelopeError) as info:
        reader.from_storage(stored, context=CONTEXT)
    expected = {
        "aescbc": (BadPadding, AggregateError),  # no MAC: garbage padding, rarely valid
        "aesgcm": (AuthenticationFailed,),
        "secretbox": (AuthenticationFailed,),
        "kms-v2": (KMSError,),
        "kms-v1": (KMSError,),
    }[enc_case.kind]
    if enc_case.kind == "aescbc" and not isinstance(info.value, BadPadding):
        pytest.skip("CBC with a wrong key produced valid-looking padding (1 in ~256)")
    assert isinstance(info.value, expected)
    assert "/registry/secrets/default/secret1" in str(info.value)
    assert "secret value" not in str(info.value)


@pytest.mark.parametrize("enc_case", KEYED, ids=lambda c: c.id)
def test_unknown_key_name(enc_case: Case) -> None:
    stored = Chain([enc_case.build(keys(enc_case.key_size, "old"))]).to_storage(
        b"v", context=CONTEXT
    )
    with pytest.raises(UnknownKey, match="no matching key was found"):
        Chain([enc_case.build(keys(enc_case.key_size, "new"))]).from_storage(
            stored, context=CONTEXT
        )


def test_read_by_second_provider_is_stale(case: Case) -> None:
    old = case.build(keys(case.key_size, "key1"))
    new = next(c for c in ENCRYPTING if c.kind != case.kind).build(keys(32, "key2"))
    stored = Chain([old]).to_storage(b"value", context=CONTEXT)
    result = Chain([new, old]).from_storage(stored, context=CONTEXT)
    assert (result.plaintext, result.stale) == (b"value", True)
    assert Chain([old, new]).from_storage(stored, context=CONTEXT).stale is False


@pytest.mark.parametrize("enc_case", KEYED, ids=lambda c: c.id)
def test_read_by_second_key_is_stale(enc_case: Case) -> None:
    k1, k2 = keys(enc_case.key_size, "key1", "key2")
    stored = Chain([enc_case.build([k1])]).to_storage(b"value", context=CONTEXT)
    rotated = Chain([enc_case.build([k2, k1])])
    result = rotated.from_storage(stored, context=CONTEXT)
    assert (result.plaintext, result.stale) == (b"value", True)
    assert result.prefix == EXPECTED_PREFIX[enc_case.kind].format(name="key1")
    rewritten = rotated.to_storage(result.plaintext, context=CONTEXT)
    assert rotated.from_storage(rewritten, context=CONTEXT).stale is False


def test_storage_key_is_authenticated_where_upstream_does(enc_case: Case) -> None:
    chain = Chain([enc_case.build(keys(enc_case.key_size, "key1"))])
    stored = chain.to_storage(b"value", context=CONTEXT)
    other = b"/registry/secrets/default/other"
    if enc_case.kind in ("aescbc", "secretbox"):  # upstream ignores the AAD for these
        assert chain.from_storage(stored, context=other).plaintext == b"value"
    else:
        with pytest.raises(EnvelopeError):
            chain.from_storage(stored, context=other)
