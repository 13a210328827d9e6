"""Envelope errors: why a value could not be written or read.

    EnvelopeError
    ├── InvalidSetup (ValueError)   a factory or Chain got unusable arguments
    │   └── InvalidKey              a key of the wrong size ("expected key size 32 ...")
    ├── NoMatchingPrefix            no provider's prefix matched ("no matching prefix found")
    ├── UnknownKey                  provider matched, no key name did
    │                               ("no matching key was found for the provided AES transformer")
    ├── IdentityRefused             identity read k8s:enc: data
    ├── Truncated                   too short / not whole blocks / missing info or length prefix
    ├── BadPadding                  AES-CBC PKCS#7 padding invalid
    ├── AuthenticationFailed        AES-GCM tag or secretbox MAC did not verify
    ├── InvalidEncryptedObject      a KMS v2 EncryptedObject that does not decode or validate
    ├── KMSError                    the KMS plugin failed, is unhealthy, or the write DEK expired
    │   └── KMSUnavailable          the plugin is unreachable, too slow, or has no usable write
    │                               state yet (or any more): retry when it answers again
    └── AggregateError              several providers matched and all failed; ``errors``

Why a tree: storage maps every ``EnvelopeError`` to one "internal error" while
audits and the CLI tell wrong keys (``AuthenticationFailed``, ``UnknownKey``)
from damaged data (``Truncated``, ``BadPadding``) and plugin outages
(``KMSError``). Each error keeps ``upstream``, kube-apiserver's exact wording,
and adds ``key_name`` and ``storage_key`` to its message so an operator sees
*which* value and key failed. Messages never carry key bytes or plaintext.
Foreign exceptions (cryptography, PyNaCl, protobuf, plugin calls) are turned
into these in one place per provider with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kcrypt.errors import KcryptError

__all__ = [
    "AggregateError",
    "AuthenticationFailed",
    "BadPadding",
    "EnvelopeError",
    "IdentityRefused",
    "InvalidEncryptedObject",
    "InvalidKey",
    "InvalidSetup",
    "KMSError",
    "KMSUnavailable",
    "NoMatchingPrefix",
    "Truncated",
    "UnknownKey",
    "storage_key_text",
]


def storage_key_text(context: bytes) -> str:
    """The storage key as printable text (storage keys are names, not secrets)."""
    return context.decode("utf-8", "backslashreplace")


class EnvelopeError(KcryptError):
    """Base class of every envelope error.

    ``upstream`` is kube-apiserver's message for the same failure; ``str()``
    is that message followed by the provider, key name and storage key.
    """

    def __init__(
        self,
        upstream: str,
        *,
        key_name: str | None = None,
        storage_key: str | None = None,
        provider: str | None = None,
    ) -> None:
        self.upstream = upstream
        self.key_name = key_name
        self.storage_key = storage_key
        self.provider = provider
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.key_name is not None:
            label = f"{self.provider} key" if self.provider else "key"
            where.append(f"{label} {self.key_name!r}")
        elif self.provider:
            where.append(self.provider)
        if self.storage_key:
            where.append(f"storage key {self.storage_key!r}")
        return f"{self.upstream} ({', '.join(where)})" if where else self.upstream


class InvalidSetup(EnvelopeError, ValueError):
    """A factory or Chain was built with arguments that can never work."""


class InvalidKey(InvalidSetup):
    """A key whose size the cipher does not accept."""


class NoMatchingPrefix(EnvelopeError):
    """No configured provider's prefix matches the stored value."""


class UnknownKey(EnvelopeError):
    """The provider matched but none of its key names did."""


class IdentityRefused(EnvelopeError):
    """The identity transformer refused to return encrypted data as plaintext."""


class Truncated(EnvelopeError):
    """The stored value is too short or malformed for its provider's layout."""


class BadPadding(EnvelopeError):
    """AES-CBC decrypted to invalid PKCS#7 padding (wrong key or damaged data)."""


class AuthenticationFailed(EnvelopeError):
    """The AEAD tag did not verify: wrong key, wrong storage key, or damaged data."""


class InvalidEncryptedObject(EnvelopeError):
    """A KMS v2 EncryptedObject that does not decode or fails validation."""


class KMSError(EnvelopeError):
    """The KMS plugin failed, is unhealthy, or the current write DEK has expired."""


class KMSUnavailable(KMSError):
    """The plugin did not answer (down, socket missing, timeout), or the write DEK
    state is missing or expired because it has not answered for too long.

    Nothing about the stored value is wrong: the same operation works once the
    plugin is back, which is why long operations (a re-encryption pass) wait
    and retry on this class and on no other.
    """


class AggregateError(EnvelopeError):
    """Several matching providers failed; ``errors`` holds each one.

    Like upstream's ``utilerrors.NewAggregate``: nested aggregates are
    flattened and repeated messages shown once; a single distinct message is
    shown bare, several as ``[e1, e2]``.
    """

    def __init__(self, errors: Sequence[EnvelopeError], *, storage_key: str | None = None) -> None:
        self.errors = tuple(errors)
        flat = list(_flatten(self.errors))
        self._full = _join(str(e) for e in flat)
        super().__init__(_join(e.upstream for e in flat), storage_key=storage_key)

    def _render(self) -> str:
        return self._full


def _flatten(errors: Sequence[EnvelopeError]) -> Iterator[EnvelopeError]:
    for err in errors:
        if isinstance(err, AggregateError):
            yield from _flatten(err.errors)
        else:
            yield err


def _join(messages: Iterator[str] | Sequence[str]) -> str:
    seen: list[str] = []
    for msg in messages:
        if msg not in seen:
            seen.append(msg)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"
