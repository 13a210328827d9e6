"""EncryptionConfiguration (apiserver.config.k8s.io/v1) as frozen dataclasses.

The model mirrors upstream's types closely enough to hold *invalid* files too
(a provider element with zero or two types set, keys without names), because
validation runs on the decoded model exactly as kube-apiserver validates its
decoded struct. Key secrets stay as the base64 text from the file; their
``repr`` is suppressed so a config printed in a traceback shows no key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_KMS_CACHESIZE",
    "DEFAULT_KMS_TIMEOUT_SECONDS",
    "EncryptionConfiguration",
    "IdentityConfiguration",
    "KMSConfiguration",
    "KeyConfiguration",
    "KeysConfiguration",
    "ProviderConfiguration",
    "ResourceConfiguration",
]

DEFAULT_KMS_TIMEOUT_SECONDS = 3.0
DEFAULT_KMS_CACHESIZE = 1000


@dataclass(frozen=True, slots=True)
class KeyConfiguration:
    """A named key; ``secret`` is the base64 text (never shown in repr)."""

    name: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class KeysConfiguration:
    """The ``keys`` list of an aescbc, aesgcm or secretbox provider; the first key writes."""

    keys: tuple[KeyConfiguration, ...] = ()


@dataclass(frozen=True, slots=True)
class IdentityConfiguration:
    """``identity: {}`` -- no fields."""


@dataclass(frozen=True, slots=True)
class KMSConfiguration:
    """A KMS plugin. After loading, ``api_version`` and ``timeout_seconds`` are defaulted
    (``v1``, 3s) and ``cachesize`` is 1000 for v1 when the file left it out."""

    api_version: str
    name: str
    endpoint: str
    cachesize: int | None = None
    timeout_seconds: float = DEFAULT_KMS_TIMEOUT_SECONDS


@dataclass(frozen=True, slots=True)
class ProviderConfiguration:
    """One ``providers[]`` element; a valid one has exactly one field set."""

    aesgcm: KeysConfiguration | None = None
    aescbc: KeysConfiguration | None = None
    secretbox: KeysConfiguration | None = None
    identity: IdentityConfiguration | None = None
    kms: KMSConfiguration | None = None

    def kinds(self) -> tuple[str, ...]:
        """The provider types set, in upstream's field order."""
        names = ("aesgcm", "aescbc", "secretbox", "identity", "kms")
        return tuple(n for n in names if getattr(self, n) is not None)


@dataclass(frozen=True, slots=True)
class ResourceConfiguration:
    """One ``resources[]`` entry: resource patterns and their ordered providers."""

    resources: tuple[str, ...] = ()
    providers: tuple[ProviderConfiguration, ...] = ()


@dataclass(frozen=True, slots=True)
class EncryptionConfiguration:
    """The whole file. Earlier entries take precedence (see :mod:`kcrypt.config.resolve`)."""

    resources: tuple[ResourceConfiguration, ...] = ()
