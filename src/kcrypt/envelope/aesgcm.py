"""aesgcm: ``nonce(12) || AES-GCM(plaintext, AAD=storage key) || tag(16)``.

The GCM transformer here is also the building block of KMS v1/v2 payloads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kcrypt.envelope.aescbc import check_aes_key
from kcrypt.envelope.base import ReadResult
from kcrypt.envelope.errors import AuthenticationFailed, Truncated, UnknownKey, storage_key_text
from kcrypt.envelope.provider import AESGCM_PREFIX, Key, Provider, keyed_provider

__all__ = ["GCMTransformer", "aesgcm"]

NONCE_SIZE = 12


class GCMTransformer:
    """One AES-GCM key with random nonces; upstream ``aes.NewGCMTransformer``.

    ``provider`` names the owner in error messages ("aesgcm", "kms v2").
    """

    __slots__ = ("_aead", "name", "provider")

    def __init__(self, key: Key, *, provider: str = "aesgcm") -> None:
        check_aes_key(key, provider)
        self.name = key.name
        self.provider = provider
        self._aead = AESGCM(key.secret.reveal())

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        if len(data) < NONCE_SIZE:
            raise Truncated(
                "the stored data was shorter than the required size",
                key_name=self.name,
                provider=self.provider,
                storage_key=storage_key_text(context),
            )
        try:
            plaintext = self._aead.decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], context)
        except InvalidTag as err:
            raise AuthenticationFailed(
                "cipher: message authentication failed",
                key_name=self.name,
                provider=self.provider,
                storage_key=storage_key_text(context),
            ) from err
        return ReadResult(plaintext=plaintext, stale=False)


def _no_key(context: bytes) -> UnknownKey:
    return UnknownKey(
        "no matching key was found for the provided AES transformer",
        provider="aesgcm",
        storage_key=storage_key_text(context),
    )


def aesgcm(keys: Sequence[Key]) -> Provider:
    """The ``aesgcm`` provider; the first key writes, the others only read (stale)."""
    return keyed_provider(AESGCM_PREFIX, keys, GCMTransformer, no_match=_no_key)
