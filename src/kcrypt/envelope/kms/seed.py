"""HKDF-SHA256 extended-nonce AES-GCM: KMS v2's per-write DEK derived from a seed.

Layout: ``info(32 random) || nonce(12 random) || AES-256-GCM(DEK, AAD=storage key)``
with ``DEK = HKDF-Expand(SHA-256, PRK=seed, info, L=32)`` (expand only).
A fresh ``info`` per write means one seed serves billions of writes without
GCM nonce reuse; upstream ``aes.NewHKDFExtendedNonceGCMTransformer``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from kcrypt.envelope.base import ReadResult
from kcrypt.envelope.errors import (
    AuthenticationFailed,
    InvalidKey,
    Truncated,
    storage_key_text,
)
from kcrypt.sensitive import SecretBytes

__all__ = ["SeedTransformer"]

INFO_SIZE = 32
SEED_SIZE = 32
NONCE_SIZE = 12


class SeedTransformer:
    """Encrypts with a DEK derived per value from ``seed``; ``name`` labels errors."""

    __slots__ = ("_seed", "name", "provider")

    def __init__(self, seed: SecretBytes, *, name: str, provider: str = "kms v2") -> None:
        if len(seed) < SEED_SIZE:
            raise InvalidKey(
                f"invalid seed length {len(seed)} used for key generation",
                key_name=name,
                provider=provider,
            )
        self._seed = seed
        self.name = name
        self.provider = provider

    def _aead(self, info: bytes) -> AESGCM:
        kdf = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info)
        return AESGCM(kdf.derive(self._seed.reveal()))

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        info = os.urandom(INFO_SIZE)
        nonce = os.urandom(NONCE_SIZE)
        return info + nonce + self._aead(info).encrypt(nonce, plaintext, context)

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        if len(data) < INFO_SIZE:
            raise self._error(
                Truncated, "the stored data is missing the required info prefix", context
            )
        body = data[INFO_SIZE:]
        if len(body) < NONCE_SIZE:
            raise self._error(
                Truncated, "the stored data was shorter than the required size", context
            )
        try:
            plaintext = self._aead(data[:INFO_SIZE]).decrypt(
                body[:NONCE_SIZE], body[NONCE_SIZE:], context
            )
        except InvalidTag as err:
            raise self._error(
                AuthenticationFailed, "cipher: message authentication failed", context
            ) from err
        return ReadResult(plaintext=plaintext, stale=False)

    def _error(
        self, kind: type[Truncated] | type[AuthenticationFailed], message: str, context: bytes
    ) -> Truncated | AuthenticationFailed:
        return kind(
            message,
            key_name=self.name,
            provider=self.provider,
            storage_key=storage_key_text(context),
        )
