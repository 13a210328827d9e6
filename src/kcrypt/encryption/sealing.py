"""Seal the encryption state record with a key derived from the server token.

k3s keeps its bootstrap data (the encryption config among it) in the
datastore encrypted with a key derived from the token, so a datastore dump
or an etcd snapshot alone never gives away the keys. kcrypt does the same for
``/kcrypt/encryption/state`` (:class:`TokenSealer`, sealing ``scrypt-aesgcm``):

* key = scrypt(token, salt) with :mod:`kcrypt.passphrase`'s parameters
  (N=2^15, r=8, p=1) -- memory-hard, because a token may be chosen by a
  person and a stolen datastore dump can be attacked offline at leisure;
* the salt is stored in the sealed text and reused by every later seal, so
  a server derives the key once, not on every change it watches;
* AES-256-GCM with a fresh nonce per seal and the record's datastore key as
  additional data, so a sealed blob moved to another key does not open.

Records sealed by earlier versions (``hkdf-sha256-aesgcm``: HKDF of the token,
cheap to attack; ``none``: base64) are opened by :func:`legacy_sealer` and
sealed again at start (:func:`kcrypt.encryption.cluster.reseal`).

A wrong token fails GCM's authentication: :class:`TokenDoesNotOpen` says
"the token does not match the cluster's encryption state". The token and the
derived key never reach a message, a log line or a repr.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kcrypt.encryption.errors import TokenDoesNotOpen
from kcrypt.passphrase import (
    DEFAULT_PARAMS,
    ScryptParams,
    SealedFormatError,
    Sealer,
    WrongPassphrase,
)

__all__ = [
    "LEGACY_HKDF",
    "SEALING_NAME",
    "HKDFSealer",
    "NoSealing",
    "StateSealer",
    "TokenSealer",
    "legacy_sealer",
]

SEALING_NAME = "scrypt-aesgcm"
LEGACY_HKDF = "hkdf-sha256-aesgcm"


class StateSealer:
    """What the state store needs: a name for the record and seal/unseal of text."""

    name: str

    def seal(self, data: bytes) -> str:
        raise NotImplementedError

    def unseal(self, text: str) -> bytes:
        raise NotImplementedError


class NoSealing(StateSealer):
    """Base64 only: tests, and records written before the state was sealed."""

    name = "none"

    def seal(self, data: bytes) -> str:
        return base64.b64encode(data).decode()

    def unseal(self, text: str) -> bytes:
        return base64.b64decode(text)


class TokenSealer(StateSealer):
    """scrypt(token) + AES-GCM, bound to one record key (see the module docstring)."""

    __slots__ = ("_aad", "_sealer")
    name = SEALING_NAME

    def __init__(
        self, token: str, *, record_key: str, params: ScryptParams = DEFAULT_PARAMS
    ) -> None:
        if not token:
            raise ValueError("a sealing token must not be empty")
        self._sealer = Sealer(token, params=params)
        self._aad = record_key.encode()

    def __repr__(self) -> str:
        return f"TokenSealer(record_key={self._aad.decode()!r})"

    def seal(self, data: bytes) -> str:
        return self._sealer.seal(data, aad=self._aad)

    def unseal(self, text: str) -> bytes:
        try:
            return self._sealer.open(text, aad=self._aad, what="encryption state")
        except WrongPassphrase:
            raise TokenDoesNotOpen() from None
        except SealedFormatError as exc:
            raise TokenDoesNotOpen(str(exc)) from None


class HKDFSealer(StateSealer):
    """Opens records sealed by kcrypt before scrypt (``v1.`` + salt|nonce|ct, HKDF key)."""

    __slots__ = ("_aad", "_token")
    name = LEGACY_HKDF
    _INFO = b"kcrypt encryption state v1"

    def __init__(self, token: str, *, record_key: str) -> None:
        self._token = token.encode()
        self._aad = record_key.encode()

    def __repr__(self) -> str:
        return f"HKDFSealer(record_key={self._aad.decode()!r})"

    def seal(self, data: bytes) -> str:
        raise TokenDoesNotOpen("records are no longer sealed with HKDF")

    def unseal(self, text: str) -> bytes:
        if not text.startswith("v1."):
            raise TokenDoesNotOpen("the sealed encryption state has an unknown format")
        try:
            blob = base64.b64decode(text[3:], validate=True)
        except (binascii.Error, ValueError):
            raise TokenDoesNotOpen("the sealed encryption state is not valid base64") from None
        if len(blob) < 16 + 12 + 16:
            raise TokenDoesNotOpen("the sealed encryption state is truncated")
        salt, nonce, sealed = blob[:16], blob[16:28], blob[28:]
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=self._INFO)
        try:
            return AESGCM(hkdf.derive(self._token)).decrypt(nonce, sealed, self._aad)
        except InvalidTag:
            raise TokenDoesNotOpen() from None


def legacy_sealer(name: str, *, token: str | None, record_key: str) -> StateSealer | None:
    """The sealer that opens a record written as ``name`` by an earlier version."""
    if name == NoSealing.name:
        return NoSealing()
    if name == LEGACY_HKDF and token:
        return HKDFSealer(token, record_key=record_key)
    return None
