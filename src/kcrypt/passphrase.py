"""Seal bytes with a passphrase or token: scrypt, then AES-256-GCM.

Why one module: the cluster's encryption state (sealed with the server token),
the RKE cluster state file and exported key bundles all hold every key a
cluster ever used. Each is only as strong as the secret that seals it, and a
human-chosen secret needs a memory-hard KDF so that guessing it offline is
expensive. One implementation means one set of parameters to review.

The sealed form is self-describing text, so parameters can be raised later
without breaking old files::

    kcrypt-sealed:v1:scrypt:<log2 N>:<r>:<p>:<base64(salt16 | nonce12 | ciphertext+tag)>

Additional data (``aad``) binds a sealed blob to its place (a datastore key,
a file's role): moved elsewhere, it does not open. A wrong secret fails GCM's
authentication and raises :class:`WrongPassphrase`, whose message never
contains the secret.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from kcrypt.errors import KcryptError
from kcrypt.sensitive import SecretBytes

__all__ = [
    "DEFAULT_PARAMS",
    "PREFIX",
    "ScryptParams",
    "SealedFormatError",
    "Sealer",
    "WrongPassphrase",
    "derive_key",
    "is_sealed",
    "open_sealed",
    "seal",
]

PREFIX = "kcrypt-sealed:v1:scrypt:"
_SALT = 16
_NONCE = 12
_TAG = 16


class WrongPassphrase(KcryptError):
    """The secret does not open this sealed data (or the data was altered)."""

    def __init__(self, what: str = "sealed data") -> None:
        super().__init__(f"the passphrase does not open the {what} (wrong passphrase or altered)")


class SealedFormatError(KcryptError):
    """The text is not sealed data this version can read."""


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt's cost: ``2**log2_n`` iterations of ``r``-sized blocks, ``p`` lanes.

    The default (N=2^15, r=8, p=1: 32 MiB, ~0.1 s here) is the cost
    ``cryptography`` and RFC 7914 suggest for interactive secrets.
    """

    log2_n: int = 15
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not (10 <= self.log2_n <= 22 and 1 <= self.r <= 32 and 1 <= self.p <= 16):
            raise SealedFormatError(f"scrypt parameters out of range: {self}")


DEFAULT_PARAMS = ScryptParams()


def derive_key(secret: str | bytes, *, salt: bytes, params: ScryptParams) -> SecretBytes:
    """32 bytes for AES-256-GCM from ``secret`` (a passphrase or a token)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    kdf = Scrypt(salt=salt, length=32, n=1 << params.log2_n, r=params.r, p=params.p)
    return SecretBytes(kdf.derive(raw))


def is_sealed(text: str | bytes) -> bool:
    head = text[: len(PREFIX)]
    return (head.decode("ascii", "replace") if isinstance(head, bytes) else head) == PREFIX


def seal(
    data: bytes,
    secret: str | bytes,
    *,
    aad: bytes = b"",
    params: ScryptParams = DEFAULT_PARAMS,
) -> str:
    """``data`` sealed under ``secret``; a fresh salt and nonce every call."""
    if not secret:
        raise ValueError("a sealing secret must not be empty")
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    key = derive_key(secret, salt=salt, params=params)
    sealed = AESGCM(key.reveal()).encrypt(nonce, data, aad)
    blob = base64.b64encode(salt + nonce + sealed).decode()
    return f"{PREFIX}{params.log2_n}:{params.r}:{params.p}:{blob}"


def _parse(text: str | bytes, what: str) -> tuple[ScryptParams, bytes, bytes, bytes]:
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    text = text.strip()
    if not is_sealed(text):
        raise SealedFormatError(f"the {what} is not in kcrypt's sealed format")
    try:
        log2_n, r, p, blob64 = text[len(PREFIX) :].split(":", 3)
        params = ScryptParams(int(log2_n), int(r), int(p))
        blob = base64.b64decode(blob64, validate=True)
    except (ValueError, binascii.Error):
        raise SealedFormatError(f"the {what} is damaged (unreadable header)") from None
    if len(blob) < _SALT + _NONCE + _TAG:
        raise SealedFormatError(f"the {what} is truncated")
    return params, blob[:_SALT], blob[_SALT : _SALT + _NONCE], blob[_SALT + _NONCE :]


def open_sealed(
    text: str | bytes, secret: str | bytes, *, aad: bytes = b"", what: str = "sealed data"
) -> bytes:
    """The data :func:`seal` sealed; :class:`WrongPassphrase` if ``secret`` is not it."""
    params, salt, nonce, sealed = _parse(text, what)
    key = derive_key(secret, salt=salt, params=params)
    try:
        return AESGCM(key.reveal()).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise WrongPassphrase(what) from None


class Sealer:
    """:func:`seal` / :func:`open_sealed` for data sealed again and again under one secret.

    Why: the cluster's encryption state is sealed with the server token and
    opened on every change a server watches; one scrypt derivation per open
    would cost ~0.1 s each. A sealer derives once per salt and keeps the key
    (in :class:`SecretBytes`) for its lifetime; it seals with the salt it last
    opened (so every server converges on one salt) or one of its own.
    """

    __slots__ = ("_keys", "_params", "_salt", "_secret")

    def __init__(self, secret: str | bytes, *, params: ScryptParams = DEFAULT_PARAMS) -> None:
        if not secret:
            raise ValueError("a sealing secret must not be empty")
        self._secret = SecretBytes(secret.encode() if isinstance(secret, str) else secret)
        self._params = params
        self._keys: dict[tuple[bytes, ScryptParams], SecretBytes] = {}
        self._salt: tuple[bytes, ScryptParams] | None = None

    def __repr__(self) -> str:
        return f"Sealer(params={self._params})"

    def _key(self, salt: bytes, params: ScryptParams) -> SecretBytes:
        key = self._keys.get((salt, params))
        if key is None:
            key = derive_key(self._secret.reveal(), salt=salt, params=params)
            self._keys[(salt, params)] = key
        return key

    def seal(self, data: bytes, *, aad: bytes = b"") -> str:
        if self._salt is None:
            self._salt = (os.urandom(_SALT), self._params)
        salt, params = self._salt
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._key(salt, params).reveal()).encrypt(nonce, data, aad)
        blob = base64.b64encode(salt + nonce + sealed).decode()
        return f"{PREFIX}{params.log2_n}:{params.r}:{params.p}:{blob}"

    def open(self, text: str | bytes, *, aad: bytes = b"", what: str = "sealed data") -> bytes:
        params, salt, nonce, sealed = _parse(text, what)
        try:
            data = AESGCM(self._key(salt, params).reveal()).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise WrongPassphrase(what) from None
        self._salt = (salt, params)
        return data
