"""aescbc: ``IV(16) || AES-CBC(PKCS#7(plaintext))``, unauthenticated.

Kept for compatibility with clusters that use it; upstream recommends
against it. The storage key is not authenticated, as upstream.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kcrypt.envelope.base import ReadResult
from kcrypt.envelope.errors import (
    BadPadding,
    EnvelopeError,
    InvalidKey,
    Truncated,
    UnknownKey,
    storage_key_text,
)
from kcrypt.envelope.provider import AESCBC_PREFIX, Key, Provider, keyed_provider

__all__ = ["AESCBCTransformer", "aescbc"]

AES_KEY_SIZES = (16, 24, 32)
_BLOCK = 16


def check_aes_key(key: Key, provider: str) -> None:
    """Raise InvalidKey unless ``key`` is an AES-128/192/256 key (Go's aes.NewCipher rule)."""
    if len(key.secret) not in AES_KEY_SIZES:
        raise InvalidKey(
            f"crypto/aes: invalid key size {len(key.secret)}", key_name=key.name, provider=provider
        )


class AESCBCTransformer:
    """One aescbc key; upstream ``aes.NewCBCTransformer``."""

    __slots__ = ("_algorithm", "name")

    def __init__(self, key: Key) -> None:
        check_aes_key(key, "aescbc")
        self.name = key.name
        self._algorithm = algorithms.AES(key.secret.reveal())

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        iv = os.urandom(_BLOCK)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(padded) + encryptor.finalize()

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        if len(data) < _BLOCK:
            raise self._error(
                Truncated, "the stored data was shorter than the required size", context
            )
        iv, body = data[:_BLOCK], data[_BLOCK:]
        if len(body) % _BLOCK:
            raise self._error(
                Truncated, "the stored data is not a multiple of the block size", context
            )
        decryptor = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        result = decryptor.update(body) + decryptor.finalize()
        # Padding is checked by hand, not with cryptography's unpadder: upstream
        # accepts any pad length up to the whole body and tells "empty or not
        # padded" from "bad pad bytes", and reads must accept what it accepts.
        pad = result[-1] if result else 0
        if pad == 0 or pad > len(result):
            raise self._error(BadPadding, "invalid PKCS7 data (empty or not padded)", context)
        if result[-pad:] != bytes([pad]) * pad:
            raise self._error(BadPadding, "invalid padding on input", context)
        return ReadResult(plaintext=result[:-pad], stale=False)

    def read_many(self, datas: Sequence[bytes]) -> list[bytes | None]:
        """Each value's plaintext, or None where :meth:`from_storage` would raise
        (ask it for the error): one CBC decryption over all of them.

        A whole-store audit pays more for building a cipher context per value
        than for decrypting it. CBC decrypts block ``C[j]`` as
        ``D(C[j]) XOR C[j-1]``, and each value is ``IV || C[1..n]``, so in the
        concatenation of the values every block is chained to the block that
        precedes it in its own value -- the IV for the first. Decrypting the
        concatenation once (the first value's IV as the mode's IV) therefore
        yields every value's exact plaintext; only the block produced from each
        later value's IV is meaningless, and it is skipped. The library does
        the decryption; padding is checked as :meth:`from_storage` checks it.
        """
        out: list[bytes | None] = [None] * len(datas)
        whole = [i for i, d in enumerate(datas) if len(d) >= 2 * _BLOCK and not len(d) % _BLOCK]
        if not whole:
            return out
        stream = b"".join(datas[i] for i in whole)
        decryptor = Cipher(self._algorithm, modes.CBC(stream[:_BLOCK])).decryptor()
        plain = decryptor.update(stream[_BLOCK:]) + decryptor.finalize()
        offset = 0  # where the value starts in ``stream``: its body is plain[offset:end]
        for i in whole:
            end = offset + len(datas[i]) - _BLOCK
            pad = plain[end - 1]
            if pad and pad <= end - offset and plain[end - pad : end] == bytes([pad]) * pad:
                out[i] = plain[offset : end - pad]
            offset = end + _BLOCK
        return out

    def _error(self, kind: type[EnvelopeError], message: str, context: bytes) -> EnvelopeError:
        return kind(
            message, key_name=self.name, provider="aescbc", storage_key=storage_key_text(context)
        )


def _no_key(context: bytes) -> UnknownKey:
    return UnknownKey(
        "no matching key was found for the provided AES transformer",
        provider="aescbc",
        storage_key=storage_key_text(context),
    )


def aescbc(keys: Sequence[Key]) -> Provider:
    """The ``aescbc`` provider; the first key writes, the others only read (stale)."""
    return keyed_provider(AESCBC_PREFIX, keys, AESCBCTransformer, no_match=_no_key)
