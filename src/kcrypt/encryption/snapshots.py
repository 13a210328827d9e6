"""Config snapshots by hash: each config the cluster moves through is built once.

The state record names its config by hash; the ``apply`` step, the pass,
``status`` and the supervisor all need that config built (transformers) or
parsed (the managed :class:`KeyConfig`). :class:`SnapshotCache` builds each
once, through the server's builder (which knows the KMS plugins), and keeps
the few a rotation moves between.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kcrypt.config import ConfigError, ConfigSnapshot
from kcrypt.encryption.configjson import config_sha256, parse_config
from kcrypt.encryption.errors import EncryptionError, UnsupportedConfig
from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.sensitive import SecretBytes

__all__ = ["Built", "SnapshotCache", "keys_of_model"]

Builder = Callable[..., ConfigSnapshot]


@dataclass(frozen=True, slots=True)
class Built:
    """A config built for the live path and, when the workflow can manage it, parsed."""

    snapshot: ConfigSnapshot
    keys: KeyConfig | None


class SnapshotCache:
    def __init__(self, build: Builder, *, source: Path | str, size: int = 4) -> None:
        self._build = build
        self._source = str(source)
        self._size = size
        self._cache: OrderedDict[str, Built] = OrderedDict()

    def get(self, data: bytes) -> Built:
        """``data`` built and parsed; raises :class:`EncryptionError` naming the problem."""
        digest = config_sha256(data)
        hit = self._cache.get(digest)
        if hit is not None:
            self._cache.move_to_end(digest)
            return hit
        try:
            snapshot = self._build(data, source=self._source)
        except ConfigError as exc:
            raise EncryptionError(f"invalid encryption configuration: {exc}") from None
        try:
            keys: KeyConfig | None = parse_config(data)
        except UnsupportedConfig:
            keys = None
        built = Built(snapshot, keys)
        self._cache[digest] = built
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return built


def keys_of_model(snapshot: ConfigSnapshot, resource: str = "secrets") -> KeyConfig:
    """The providers of the rule covering ``resource``, for a read-only key table.

    Works for any valid config (an operator's ``--encryption-provider-config``
    with KMS providers included: a KMS provider is listed by its plugin name,
    with no key); the workflow never writes what this returns.
    """
    for entry in snapshot.config.resources:
        if not any(r in (resource, "*.", "*.*") for r in entry.resources):
            continue
        providers: list[ProviderKeys] = []
        for p in entry.providers:
            if p.kms is not None:
                providers.append(ProviderKeys("kms", (ConfigKey(p.kms.name, _NO_SECRET),)))
                continue
            for kind in ("aescbc", "aesgcm", "secretbox"):
                keys = getattr(p, kind)
                if keys is not None:
                    names = tuple(ConfigKey(k.name, _NO_SECRET) for k in keys.keys)
                    providers.append(ProviderKeys(kind, names))
            if p.identity is not None:
                providers.append(ProviderKeys("identity"))
        return KeyConfig(tuple(providers), tuple(entry.resources))
    return KeyConfig((ProviderKeys("identity"),), (resource,))


_NO_SECRET = SecretBytes(b"")
