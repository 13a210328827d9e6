"""The state record sealed with the token: opens with the same token only, never shows keys."""

from __future__ import annotations

import logging

import pytest

from kcrypt.datastore.endpoint import open_datastore
from kcrypt.encryption import STATE_KEY, EncryptionState, Stage, StateStore
from kcrypt.encryption.errors import TokenDoesNotOpen
from kcrypt.encryption.sealing import SEALING_NAME, TokenSealer, derive_key

CONFIG = b'{"kind":"EncryptionConfiguration","secret":"c2VjcmV0LWtleS1tYXRlcmlhbA=="}'


def test_seal_then_open_with_the_same_token() -> None:
    sealer = TokenSealer("t0ken-1", record_key=STATE_KEY)
    text = sealer.seal(CONFIG)
    assert text.startswith("v1.")
    assert b"c2VjcmV0" not in text.encode() and "secret" not in text
    assert TokenSealer("t0ken-1", record_key=STATE_KEY).unseal(text) == CONFIG


def test_each_seal_uses_a_fresh_salt_and_nonce() -> None:
    sealer = TokenSealer("t0ken-1", record_key=STATE_KEY)
    assert sealer.seal(CONFIG) != sealer.seal(CONFIG)


def test_a_wrong_token_gives_the_clear_error() -> None:
    text = TokenSealer("right", record_key=STATE_KEY).seal(CONFIG)
    with pytest.raises(TokenDoesNotOpen) as err:
        TokenSealer("wrong", record_key=STATE_KEY).unseal(text)
    assert str(err.value) == "the token does not match the cluster's encryption state"
    assert "right" not in str(err.value) and "wrong" not in str(err.value)


def test_a_blob_moved_to_another_record_key_does_not_open() -> None:
    text = TokenSealer("t", record_key=STATE_KEY).seal(CONFIG)
    with pytest.raises(TokenDoesNotOpen):
        TokenSealer("t", record_key="/kcrypt/other").unseal(text)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("v0.AAAA", "unknown format"),
        ("v1.!!!", "not valid base64"),
        ("v1.AAAA", "truncated"),
    ],
    ids=["an unknown version", "garbage base64", "a truncated blob"],
)
def test_damaged_blobs_are_named(text: str, detail: str) -> None:
    with pytest.raises(TokenDoesNotOpen, match=detail):
        TokenSealer("t", record_key=STATE_KEY).unseal(text)


def test_the_key_never_shows_in_text_forms() -> None:
    key = derive_key("t", b"s" * 16)
    assert len(key) == 32
    assert key.reveal().hex() not in repr(key) + str(key)
    sealer = TokenSealer("super-secret-token", record_key=STATE_KEY)
    assert "super-secret-token" not in repr(sealer)


async def test_state_store_round_trip_and_wrong_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ds = await open_datastore("memory://")
    try:
        store = StateStore(ds, sealer=TokenSealer("tok", record_key=STATE_KEY))
        state = EncryptionState(CONFIG, Stage.START, "abc", "aescbc")
        await store.save(state, mod_revision=0)
        raw = await ds.get(STATE_KEY)
        assert raw is not None
        assert b'"sealing":"hkdf-sha256-aesgcm"' in raw.value
        assert b"c2VjcmV0" not in raw.value and SEALING_NAME == "hkdf-sha256-aesgcm"
        loaded, _ = await store.load()
        assert loaded is not None and loaded.config == CONFIG
        other = StateStore(ds, sealer=TokenSealer("not-tok", record_key=STATE_KEY))
        with pytest.raises(TokenDoesNotOpen, match="token does not match"):
            await other.load()
        assert "tok" not in caplog.text
    finally:
        await ds.close()
