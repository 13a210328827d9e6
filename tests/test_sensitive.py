"""SecretBytes never shows its content in any text form."""

from __future__ import annotations

import logging
import pickle

import pytest

from kcrypt.sensitive import SecretBytes

KEY = b"\x01super-secret-key-material-32byt"


def test_text_forms_hide_the_key(caplog: pytest.LogCaptureFixture) -> None:
    s = SecretBytes(KEY)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("t").debug("key is %s %r", s, s)
    for text in (str(s), repr(s), f"{s}", f"{s!r}", caplog.text):
        assert "super-secret" not in text
    assert "32 bytes redacted" in repr(s)


def test_reveal_and_compare() -> None:
    assert SecretBytes(KEY).reveal() == KEY
    assert SecretBytes(KEY) == SecretBytes(KEY)
    assert SecretBytes(KEY) != SecretBytes(b"other")
    assert len(SecretBytes(KEY)) == 32


def test_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(SecretBytes(KEY))
