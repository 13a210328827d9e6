"""What the envelope needs from a KMS plugin, without any transport.

The gRPC clients (:mod:`kcrypt.kms`) and the in-process fakes implement
these protocols; the envelope stays pure and testable.

A client reports a failed call by raising any exception; it raises
:class:`PluginCallError` with ``unavailable=True`` when the plugin could not
be reached or did not answer in time, which the transformers turn into
:class:`~kcrypt.envelope.errors.KMSUnavailable` (retry later) rather than a
plain ``KMSError``. A client that can only wait on an event loop raises
:class:`~kcrypt.envelope.base.WouldBlock` when called on that loop's thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "KMSEncryptResponse",
    "KMSStatus",
    "KMSv1Client",
    "KMSv2Client",
    "PluginCallError",
]


class PluginCallError(Exception):
    """A plugin call failed; ``str()`` is what kube-apiserver would print for it
    (``rpc error: code = Unavailable desc = ...``)."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


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
