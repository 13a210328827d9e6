"""What the envelope needs from a KMS plugin, without any transport.

The gRPC clients (in the server layer) and the in-process fakes implement
these protocols; the envelope stays pure and testable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["KMSEncryptResponse", "KMSStatus", "KMSv1Client", "KMSv2Client"]


@dataclass(frozen=True, slots=True)
class KMSStatus:
    """``v2.StatusResponse``: ``version`` "v2"/"v2beta1", ``healthz`` "ok", current ``key_id``."""

    version: str
    healthz: str
    key_id: str


@dataclass(frozen=True, slots=True)
class KMSEncryptResponse:
    """``v2.EncryptResponse``."""

    ciphertext: bytes
    key_id: str
    annotations: Mapping[str, bytes] = field(default_factory=dict)


@runtime_checkable
class KMSv2Client(Protocol):
    """A KMS v2 plugin (``v2.KeyManagementService``)."""

    def status(self) -> KMSStatus: ...

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse: ...

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes: ...


@runtime_checkable
class KMSv1Client(Protocol):
    """A KMS v1 plugin (``v1beta1.KeyManagementService``; deprecated upstream)."""

    def encrypt(self, plain: bytes) -> bytes: ...

    def decrypt(self, cipher: bytes) -> bytes: ...
