"""Compact key configs for the transition tests: ``'aescbc[k0,k1] identity'``."""

from __future__ import annotations

import itertools

from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.sensitive import SecretBytes

_counter = itertools.count(1)


def make_key(kind: str, _config: KeyConfig | None) -> ConfigKey:
    return ConfigKey(f"{kind}key-new{next(_counter)}", SecretBytes(bytes(32)))


def cfg(spec: str) -> KeyConfig:
    """'aescbc[k0,k1] identity' -> KeyConfig."""
    providers = []
    for part in spec.split():
        kind, _, rest = part.partition("[")
        names = [n for n in rest.rstrip("]").split(",") if n]
        providers.append(
            ProviderKeys(kind, tuple(ConfigKey(n, SecretBytes(bytes(32))) for n in names))
        )
    return KeyConfig(tuple(providers))


def spec(config: KeyConfig) -> str:
    out = []
    for p in config.providers:
        names = ",".join(
            k.name.split("key-new")[0] + "NEW" if "key-new" in k.name else k.name for k in p.keys
        )
        out.append("identity" if p.kind == "identity" else f"{p.kind}[{names}]")
    return " ".join(out)
