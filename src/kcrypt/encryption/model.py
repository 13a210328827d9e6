"""Facts of the key manager, as frozen dataclasses.

:class:`KeyConfig` is the part of an EncryptionConfiguration the k3s workflow
manages: the resources one entry covers (``secrets`` for k3s's own file, or
any list such as ``[secrets, configmaps]``) and its ordered providers, each
with its keys. It renders to, and parses from, k3s's exact file bytes
(:mod:`kcrypt.encryption.configjson`), so the sha256 hashes k3s shows match,
and every resource it accepts is rendered back.

:class:`EncryptionState` is what kcrypt persists in the datastore under
``/kcrypt/encryption/state`` (see :mod:`kcrypt.encryption.statestore` for the
record layout); :class:`ReencryptProgress` what a re-encryption pass reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from kcrypt.encryption.stages import Stage
from kcrypt.sensitive import SecretBytes

__all__ = [
    "KEY_PROVIDERS",
    "ConfigKey",
    "EncryptionState",
    "KeyConfig",
    "KeyProvider",
    "ProviderKeys",
    "ReencryptJob",
    "ReencryptProgress",
    "RetiredKey",
]

KeyProvider = Literal["aescbc", "aesgcm", "secretbox"]
KEY_PROVIDERS: tuple[KeyProvider, ...] = ("aescbc", "aesgcm", "secretbox")


@dataclass(frozen=True, slots=True)
class ConfigKey:
    name: str
    secret: SecretBytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ProviderKeys:
    """One provider element: ``kind`` is aescbc, aesgcm, secretbox or identity (no keys)."""

    kind: str
    keys: tuple[ConfigKey, ...] = ()


IDENTITY = ProviderKeys("identity")


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """Ordered providers of one resources entry; the first one writes."""

    providers: tuple[ProviderKeys, ...]
    resources: tuple[str, ...] = ("secrets",)

    def with_providers(self, providers: tuple[ProviderKeys, ...]) -> KeyConfig:
        """The same resources under other providers (every transition keeps them)."""
        return replace(self, providers=providers)

    @property
    def enabled(self) -> bool:
        """Encryption is on when the writing provider is not identity."""
        return bool(self.providers) and self.providers[0].kind != "identity"

    def keys_of(self, kind: str) -> tuple[ConfigKey, ...]:
        for p in self.providers:
            if p.kind == kind:
                return p.keys
        return ()

    def key_kinds(self) -> tuple[str, ...]:
        """Key provider kinds present with at least one key, in config order."""
        return tuple(p.kind for p in self.providers if p.kind != "identity" and p.keys)

    def all_keys(self) -> tuple[tuple[str, ConfigKey], ...]:
        return tuple((p.kind, k) for p in self.providers for k in p.keys)

    def all_keys_by_name(self) -> dict[str, ConfigKey]:
        return {k.name: k for _, k in self.all_keys()}

    @property
    def write_prefix(self) -> str:
        """Envelope prefix of values written with this config (``""`` for identity)."""
        first = self.providers[0] if self.providers else IDENTITY
        if first.kind == "identity" or not first.keys:
            return ""
        return f"k8s:enc:{first.kind}:v1:{first.keys[0].name}:"


@dataclass(frozen=True, slots=True)
class RetiredKey:
    """A key that left the config after a pass proved no value needs it.

    Kept (sealed, like the config) so that an old snapshot can still be read
    and a key bundle holds every key the cluster ever used.
    """

    kind: str
    key: ConfigKey
    retired: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ReencryptJob:
    """A re-encryption pass the state asks for, and how far its aftermath got.

    ``remove_key``: remove the old key when the pass is done (k3s's non-skip
    reencrypt and rotate-keys); ``after_stage``: the stage to record when done
    (``reencrypt_finished``, or the previous stage for skip/enable/disable).
    ``promote``: a key added reading-only becomes the write key once every
    live server applied it, and only then are values rewritten.
    ``removed``: the key removal was saved (what is left: compaction).
    ``error``: why the job stopped for good (an operator command restarts it).
    ``scheduled``: the controller started it (``--secrets-encryption-rotation-interval``).
    """

    config_hash: str
    remove_key: bool
    after_stage: Stage
    started: float
    error: str = ""
    promote: bool = False
    removed: bool = False
    scheduled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptionState:
    """The encryption state of the cluster, persisted before any value is rewritten.

    ``activated``: when the current write key started writing (the age a
    scheduled rotation compares with; 0 = unknown, from an older record).
    """

    config: bytes = field(repr=False)
    stage: Stage
    config_hash: str
    provider: KeyProvider
    job: ReencryptJob | None = None
    generation: int = 1
    activated: float = 0.0
    retired: tuple[RetiredKey, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReencryptProgress:
    """Counts of one pass. ``done`` = values examined; ``rewritten`` + ``current``
    + ``skipped`` (a concurrent writer got there first) + ``failed`` = ``done``."""

    total: int
    done: int = 0
    rewritten: int = 0
    current: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed: float = 0.0
    finished: bool = False
    last_key: str = ""

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        if self.finished or rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate
