"""identity: stores plaintext, refuses to hand back encrypted data as plaintext."""

from __future__ import annotations

from kcrypt.envelope.base import ReadResult, Transformer
from kcrypt.envelope.errors import IdentityRefused, storage_key_text
from kcrypt.envelope.provider import ENCRYPTED_MARKER, Provider

__all__ = ["encrypt_check", "identity"]


class _EncryptCheck:
    """Upstream's ``identity.NewEncryptCheckTransformer``.

    JSON starts with ``{`` and protobuf with ``k8s\\x00``; ``k8s:enc:`` is
    reserved for encrypted values, so seeing it here means a key is missing
    from the config, never that the bytes are the object.
    """

    __slots__ = ()

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        return plaintext

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        if data.startswith(ENCRYPTED_MARKER):
            raise IdentityRefused(
                "identity transformer tried to read encrypted data",
                provider="identity",
                storage_key=storage_key_text(context),
            )
        return ReadResult(plaintext=data, stale=False, prefix="")


_ENCRYPT_CHECK = _EncryptCheck()


def encrypt_check() -> Transformer:
    """The bare transformer for resources no config entry covers."""
    return _ENCRYPT_CHECK


def identity() -> Provider:
    """The ``identity: {}`` provider: empty prefix, writes plaintext."""
    return Provider(prefix=b"", transformer=_ENCRYPT_CHECK)
