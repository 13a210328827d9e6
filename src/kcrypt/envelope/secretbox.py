"""secretbox: ``nonce(24) || Poly1305 tag(16) || XSalsa20(plaintext)`` (NaCl secretbox).

No AAD: the storage key is not authenticated, as upstream.
"""

from __future__ import annotations

from collections.abc import Sequence

import nacl.exceptions
import nacl.secret
import nacl.utils

from kcrypt.envelope.base import ReadResult
from kcrypt.envelope.errors import (
    AuthenticationFailed,
    InvalidKey,
    Truncated,
    UnknownKey,
    storage_key_text,
)
from kcrypt.envelope.provider import SECRETBOX_PREFIX, Key, Provider, keyed_provider

__all__ = ["SecretboxTransformer", "secretbox"]

_NONCE = nacl.secret.SecretBox.NONCE_SIZE  # 24
_OVERHEAD = nacl.secret.SecretBox.MACBYTES  # 16


class SecretboxTransformer:
    """One secretbox key; upstream ``secretbox.NewSecretboxTransformer``."""

    __slots__ = ("_box", "name")

    def __init__(self, key: Key) -> None:
        if len(key.secret) != nacl.secret.SecretBox.KEY_SIZE:
            raise InvalidKey(
                f"expected key size 32 for secretbox provider, got {len(key.secret)}",
                key_name=key.name,
                provider="secretbox",
            )
        self.name = key.name
        self._box = nacl.secret.SecretBox(key.secret.reveal())

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        nonce = nacl.utils.random(_NONCE)
        return bytes(self._box.encrypt(plaintext, nonce))

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        if len(data) < _NONCE + _OVERHEAD:
            raise Truncated(
                "the stored data was shorter than the required size",
                key_name=self.name,
                provider="secretbox",
                storage_key=storage_key_text(context),
            )
        try:
            plaintext = self._box.decrypt(data[_NONCE:], data[:_NONCE])
        except nacl.exceptions.CryptoError as err:
            # upstream's (misleading) wording for a failed secretbox.Open
            raise AuthenticationFailed(
                "output array was not large enough for encryption",
                key_name=self.name,
                provider="secretbox",
                storage_key=storage_key_text(context),
            ) from err
        return ReadResult(plaintext=plaintext, stale=False)


def _no_key(context: bytes) -> UnknownKey:
    return UnknownKey(
        "no matching key was found for the provided Secretbox transformer",
        provider="secretbox",
        storage_key=storage_key_text(context),
    )


def secretbox(keys: Sequence[Key]) -> Provider:
    """The ``secretbox`` provider; the first key writes, the others only read (stale)."""
    return keyed_provider(SECRETBOX_PREFIX, keys, SecretboxTransformer, no_match=_no_key)
