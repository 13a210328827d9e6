"""What keys a config holds: names and secrets per provider, for records and messages.

Key *names* go into messages and plans (:func:`describe`); secrets only into
the state file (:func:`key_secrets`, :func:`retired_keys`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from kcrypt.config import (
    EncryptionConfiguration,
    KeyConfiguration,
    KeysConfiguration,
    ProviderConfiguration,
)

__all__ = ["KEYED", "describe", "key_names", "key_secrets", "retired_keys", "with_keys"]

KEYED = ("aesgcm", "aescbc", "secretbox")


def with_keys(
    provider: ProviderConfiguration, kind: str, keys: tuple[KeyConfiguration, ...]
) -> ProviderConfiguration:
    """``provider`` with its ``kind`` (aescbc, aesgcm, secretbox) key list replaced."""
    value = KeysConfiguration(keys)
    if kind == "aescbc":
        return replace(provider, aescbc=value)
    if kind == "aesgcm":
        return replace(provider, aesgcm=value)
    return replace(provider, secretbox=value)


def describe(config: EncryptionConfiguration | None) -> str:
    """``secrets,configmaps: aescbc[k-new, k-old], identity`` -- key names only, never secrets."""
    parts = []
    for entry in config.resources if config else ():
        providers = []
        for p in entry.providers:
            kind = p.kinds()[0]
            if kind in KEYED:
                names = ", ".join(k.name for k in getattr(p, kind).keys)
                providers.append(f"{kind}[{names}]")
            elif p.kms is not None:
                providers.append(f"kms({p.kms.name})")
            else:
                providers.append(kind)
        parts.append(f"{','.join(entry.resources)}: {', '.join(providers)}")
    return "; ".join(parts) or "(no resources)"


def key_secrets(config: EncryptionConfiguration | None) -> dict[tuple[str, str], str]:
    """``{(provider, key name): base64 secret}`` of every local key in ``config``."""
    out: dict[tuple[str, str], str] = {}
    for entry in config.resources if config else ():
        for p in entry.providers:
            for kind in KEYED:
                value = getattr(p, kind)
                if value is not None:
                    out.update(((kind, k.name), k.secret) for k in value.keys)
    return out


def key_names(config: EncryptionConfiguration | None) -> set[str]:
    return {name for _, name in key_secrets(config)}


def retired_keys(
    before: Iterable[EncryptionConfiguration | None], after: EncryptionConfiguration | None
) -> dict[tuple[str, str], str]:
    """Keys some config in ``before`` had and ``after`` no longer has."""
    keep = key_secrets(after)
    out: dict[tuple[str, str], str] = {}
    for config in before:
        for ident, secret in key_secrets(config).items():
            if ident not in keep:
                out[ident] = secret
    return out
