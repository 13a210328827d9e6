"""Seal the encryption state record with a key derived from the server token.

k3s keeps its bootstrap data (the encryption config among it) in the
datastore encrypted with a key derived from the token, so a datastore dump
or an etcd snapshot alone never gives away the keys (research note §3.2).
kcrypt does the same for ``/kcrypt/encryption/state``:

* key = HKDF-SHA256(token, salt = 16 random bytes per seal, info =
  ``b"kcrypt encryption state v1"``), 32 bytes;
* AES-256-GCM with a 12-byte random nonce and the record's datastore key as
  additional data, so a sealed blob moved to another key does not open;
* text form ``v1.`` + base64(salt ‖ nonce ‖ ciphertext+tag).

Why HKDF and not k3s's PBKDF2: the token kcrypt generates is 256 random bits,
which needs no stretching, and every server opens the record on every change
(a watch event), so the derivation must be cheap. A hand-picked ``--token``
should be as long and random as a generated one.

A wrong token fails GCM's authentication: :class:`TokenDoesNotOpen` says
"the token does not match the cluster's encryption state". The derived key
lives in :class:`~kcrypt.sensitive.SecretBytes` and never reaches a message,
a log line or a repr; the token is never stored here at all.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kcrypt.encryption.errors import TokenDoesNotOpen
from kcrypt.sensitive import SecretBytes

__all__ = ["HKDF_INFO", "SEALING_NAME", "TokenSealer", "derive_key"]

SEALING_NAME = "hkdf-sha256-aesgcm"
"""The ``sealing`` field of a state record sealed by :class:`TokenSealer`."""

HKDF_INFO = b"kcrypt encryption state v1"
_SALT = 16
_NONCE = 12
_TAG = 16
_PREFIX = "v1."


def derive_key(token: str, salt: bytes) -> SecretBytes:
    """HKDF-SHA256 of the token: 32 bytes for AES-256-GCM."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO)
    return SecretBytes(hkdf.derive(token.encode()))


class TokenSealer:
    """A :class:`~kcrypt.encryption.statestore.Sealer` bound to a token and a record key."""

    __slots__ = ("_aad", "_token")
    name = SEALING_NAME

    def __init__(self, token: str, *, record_key: str) -> None:
        if not token:
            raise ValueError("a sealing token must not be empty")
        self._token = SecretBytes(token.encode())
        self._aad = record_key.encode()

    def __repr__(self) -> str:
        return f"TokenSealer(record_key={self._aad.decode()!r})"

    def seal(self, data: bytes) -> str:
        salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
        key = derive_key(self._token.reveal().decode(), salt)
        sealed = AESGCM(key.reveal()).encrypt(nonce, data, self._aad)
        return _PREFIX + base64.b64encode(salt + nonce + sealed).decode()

    def unseal(self, text: str) -> bytes:
        if not text.startswith(_PREFIX):
            raise TokenDoesNotOpen("the sealed encryption state has an unknown format")
        try:
            blob = base64.b64decode(text[len(_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise TokenDoesNotOpen("the sealed encryption state is not valid base64") from None
        if len(blob) < _SALT + _NONCE + _TAG:
            raise TokenDoesNotOpen("the sealed encryption state is truncated")
        salt, nonce, sealed = blob[:_SALT], blob[_SALT : _SALT + _NONCE], blob[_SALT + _NONCE :]
        key = derive_key(self._token.reveal().decode(), salt)
        try:
            return AESGCM(key.reveal()).decrypt(nonce, sealed, self._aad)
        except InvalidTag:
            raise TokenDoesNotOpen() from None
