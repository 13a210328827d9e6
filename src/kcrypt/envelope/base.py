"""The transformer seam: what every value transformer promises.

kube-apiserver turns an object's bytes into the value stored in etcd with a
*transformer* and back. kcrypt keeps that shape exactly so that a value
written by one is read by the other. ``context`` is the full storage key
(``/registry/secrets/ns/name``): AES-GCM based providers authenticate it,
the others ignore it, as upstream does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["ManyReader", "ReadResult", "Transformer", "WouldBlock"]


class WouldBlock(Exception):
    """Raised by a transformer called on an event loop's thread when it has to wait
    for I/O (a KMS plugin call) to go on.

    Not an ``EnvelopeError``: nothing failed and chains must not collect it.
    The caller runs the same call again on a worker thread, where the transformer
    may block (:func:`kcrypt.storage.values` does; so does the re-encryption pass).
    Transformers with local keys never raise it.
    """


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What a read gives back.

    ``stale`` is upstream's flag: the value was readable but not with the
    current write key, so the next update must rewrite it. ``prefix`` is the
    full matched envelope prefix including the key or provider name
    (``k8s:enc:aescbc:v1:key1:``, ``k8s:enc:kms:v2:plugin:``), or ``""`` for
    identity; audit and re-encryption use it to say which key protects a value.
    """

    plaintext: bytes
    stale: bool
    prefix: str = ""


@runtime_checkable
class Transformer(Protocol):
    """A reversible value transformation, byte-compatible with kube-apiserver."""

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        """Encrypt (or pass through) ``plaintext`` into the stored form."""
        ...

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        """Read a stored value; raise an ``EnvelopeError`` when it cannot be read."""
        ...


@runtime_checkable
class ManyReader(Protocol):
    """A transformer that can also open many values in one call (aescbc can)."""

    def read_many(self, datas: Sequence[bytes]) -> list[bytes | None]:
        """Each value's plaintext, or None where ``from_storage`` would raise."""
        ...
