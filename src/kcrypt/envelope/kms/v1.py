"""KMS v1 (deprecated upstream): ``k8s:enc:kms:v1:<name>:`` + ``u16 len || encDEK || payload``.

Every write uses a fresh 32-byte DEK encrypted by the plugin; the payload is
AES-256-GCM (since 1.25). Reads try GCM, then fall back to AES-CBC for data
written by 1.24 and older, which is reported stale. Decrypted DEKs are kept in
an LRU keyed by the encrypted DEK (upstream ``cachesize``, default 1000).
"""

from __future__ import annotations

import os
import struct
from collections import OrderedDict

from kcrypt.envelope.aescbc import AESCBCTransformer
from kcrypt.envelope.aesgcm import GCMTransformer
from kcrypt.envelope.base import ReadResult, Transformer, WouldBlock
from kcrypt.envelope.errors import (
    AggregateError,
    EnvelopeError,
    KMSError,
    KMSUnavailable,
    Truncated,
    storage_key_text,
)
from kcrypt.envelope.kms.client import KMSv1Client
from kcrypt.envelope.provider import KMS_V1_PREFIX, Key, Provider
from kcrypt.sensitive import SecretBytes

__all__ = ["KMSv1Transformer", "kms_v1"]

_LABEL = "kms v1"
DEFAULT_CACHE_SIZE = 1000


class _DEK:
    """GCM first, CBC fallback (upstream ``unionTransformers{gcm, cbc}``)."""

    __slots__ = ("cbc", "gcm")

    def __init__(self, name: str, dek: SecretBytes) -> None:
        key = Key(name, dek)
        self.gcm = GCMTransformer(key, provider=_LABEL)
        self.cbc = AESCBCTransformer(key)

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        errors: list[EnvelopeError] = []
        transformers: tuple[Transformer, ...] = (self.gcm, self.cbc)
        for index, transformer in enumerate(transformers):
            try:
                result = transformer.from_storage(data, context=context)
            except EnvelopeError as err:
                errors.append(err)
                continue
            return ReadResult(plaintext=result.plaintext, stale=result.stale or index != 0)
        raise AggregateError(errors, storage_key=storage_key_text(context))


class KMSv1Transformer:
    """The transformer behind :func:`kms_v1` (after its prefix)."""

    def __init__(self, name: str, client: KMSv1Client, *, cache_size: int) -> None:
        self.name = name
        self._client = client
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, _DEK] = OrderedDict()

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        dek = SecretBytes(os.urandom(32))
        try:
            encrypted = bytes(self._client.encrypt(dek.reveal()))
        except WouldBlock:
            raise
        except Exception as err:  # foreign plugin code
            raise self._error(f"failed to encrypt DEK, error: {err}", context, err) from err
        if len(encrypted) > 0xFFFF:
            raise self._error("encrypted DEK is too long for a uint16 length prefix", context)
        transformer = self._remember(encrypted, dek)
        payload = transformer.gcm.to_storage(plaintext, context=context)
        return struct.pack(">H", len(encrypted)) + encrypted + payload

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        size = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else -1
        if size < 0 or len(data) < 2 + size:
            raise Truncated(
                "invalid data encountered by envelope transformer: "
                "failed to read uint16 length prefixed data",
                key_name=self.name,
                provider=_LABEL,
                storage_key=storage_key_text(context),
            )
        encrypted, payload = data[2 : 2 + size], data[2 + size :]
        transformer = self._cache.get(encrypted)
        if transformer is None:
            try:
                dek = SecretBytes(bytes(self._client.decrypt(encrypted)))
            except WouldBlock:
                raise
            except Exception as err:  # foreign plugin code
                raise self._error(f"failed to decrypt DEK, error: {err}", context, err) from err
            try:
                transformer = self._remember(encrypted, dek)
            except EnvelopeError as err:
                raise self._error(err.upstream, context) from err
        else:
            self._cache.move_to_end(encrypted)
        return transformer.from_storage(payload, context=context)

    def _remember(self, encrypted: bytes, dek: SecretBytes) -> _DEK:
        transformer = _DEK(self.name, dek)
        if self._cache_size > 0:
            self._cache[encrypted] = transformer
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return transformer

    @property
    def cache_fill_percent(self) -> float:
        """Upstream's ``dek_cache_fill_percent`` (0 when the cache is disabled)."""
        return 100.0 * len(self._cache) / self._cache_size if self._cache_size > 0 else 0.0

    def _error(self, message: str, context: bytes, err: Exception | None = None) -> KMSError:
        """A failure; :class:`KMSUnavailable` when the plugin did not answer."""
        kind = KMSUnavailable if getattr(err, "unavailable", False) else KMSError
        return kind(
            message, key_name=self.name, provider=_LABEL, storage_key=storage_key_text(context)
        )


def kms_v1(name: str, client: KMSv1Client, *, cache_size: int = DEFAULT_CACHE_SIZE) -> Provider:
    """The ``kms: {apiVersion: v1, name: <name>}`` provider (``cache_size`` < 0: no cache)."""
    return Provider(
        prefix=KMS_V1_PREFIX + f"{name}:".encode(),
        transformer=KMSv1Transformer(name, client, cache_size=cache_size),
    )
