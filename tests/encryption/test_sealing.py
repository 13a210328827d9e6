"""The state record sealed with the token: opens with the same token only, never shows keys."""

from __future__ import annotations

import logging

import pytest

from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import STATE_KEY, EncryptionState, Stage, StateStore
from kcrypt.encryption.errors import TokenDoesNotOpen
from kcrypt.encryption.model import ConfigKey, RetiredKey
from kcrypt.encryption.sealing import SEALING_NAME, TokenSealer
from kcrypt.sensitive import SecretBytes

from ._node import FAST_SCRYPT

CONFIG = b'{"kind":"EncryptionConfiguration","secret":"c2VjcmV0LWtleS1tYXRlcmlhbA=="}'


def sealer(token: str, key: str = STATE_KEY) -> TokenSealer:
    return TokenSealer(token, record_key=key, params=FAST_SCRYPT)


def test_seal_then_open_with_the_same_token() -> None:
    text = sealer("t0ken-1").seal(CONFIG)
    assert text.startswith("kcrypt-sealed:v1:scrypt:10:8:1:")
    assert b"c2VjcmV0" not in text.encode() and "secret" not in text
    assert sealer("t0ken-1").unseal(text) == CONFIG


def test_the_default_cost_is_memory_hard() -> None:
    text = TokenSealer("t0ken-1", record_key=STATE_KEY).seal(CONFIG)
    assert text.startswith("kcrypt-sealed:v1:scrypt:15:8:1:")  # 2^15 x 8 x 128 B = 32 MiB


def test_each_seal_uses_a_fresh_nonce() -> None:
    s = sealer("t0ken-1")
    assert s.seal(CONFIG) != s.seal(CONFIG)


def test_a_wrong_token_gives_the_clear_error() -> None:
    text = sealer("right").seal(CONFIG)
    with pytest.raises(TokenDoesNotOpen) as err:
        sealer("wrong").unseal(text)
    assert str(err.value) == "the token does not match the cluster's encryption state"
    assert "right" not in str(err.value) and "wrong" not in str(err.value)


def test_a_blob_moved_to_another_record_key_does_not_open() -> None:
    text = sealer("t").seal(CONFIG)
    with pytest.raises(TokenDoesNotOpen):
        sealer("t", "/kcrypt/other").unseal(text)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("v1.AAAA", "not in kcrypt's sealed format"),
        ("kcrypt-sealed:v1:scrypt:10:8:1:!!!", "damaged"),
        ("kcrypt-sealed:v1:scrypt:10:8:1:AAAA", "truncated"),
    ],
    ids=["an unknown format", "garbage base64", "a truncated blob"],
)
def test_damaged_blobs_are_named(text: str, detail: str) -> None:
    with pytest.raises(TokenDoesNotOpen, match=detail):
        sealer("t").unseal(text)


def test_the_token_never_shows_in_text_forms() -> None:
    s = sealer("super-secret-token")
    assert "super-secret-token" not in repr(s) + str(s)


async def test_state_store_round_trip_and_wrong_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ds = await open_datastore("memory://")
    try:
        store = StateStore(ds, sealer=sealer("tok-0123456789abcdef"))
        retired = RetiredKey(
            kind="aescbc", key=ConfigKey("old", SecretBytes(b"\x07" * 32)), retired=1.0
        )
        state = EncryptionState(
            config=CONFIG,
            stage=Stage.START,
            config_hash="abc",
            provider="aescbc",
            activated=12.5,
            retired=(retired,),
        )
        await store.save(state, mod_revision=0)
        raw = await ds.get(STATE_KEY)
        assert raw is not None
        assert f'"sealing":"{SEALING_NAME}"'.encode() in raw.value
        assert b"c2VjcmV0" not in raw.value and b"BwcHBwcH" not in raw.value  # no key in clear
        loaded, _ = await store.load()
        assert loaded is not None and loaded.config == CONFIG
        assert loaded.activated == 12.5 and loaded.retired == (retired,)
        other = StateStore(ds, sealer=sealer("not-tok-0123456789"))
        with pytest.raises(TokenDoesNotOpen, match="token does not match"):
            await other.load()
        assert "tok-0123456789abcdef" not in caplog.text
    finally:
        await ds.close()
