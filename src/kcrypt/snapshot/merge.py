"""The config a restored cluster runs: today's keys, plus every key the restored data needs.

The write key stays the one the cluster writes with now (a rotation is never
undone by a restore: the key rotated away from comes back read-only, and a
``reencrypt`` retires it again). Each key the snapshot's values need and the
config lacks is appended to its provider's keys, after the keys already
there, so it reads but never writes; a provider the config lacks is added
before a trailing ``identity``. With no config at all (a fresh server), the
snapshot's own config is the base, as k3s restores its bootstrap data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kcrypt.encryption import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.snapshot.errors import SnapshotError
from kcrypt.snapshot.keyring import KnownKey

__all__ = ["Merged", "merge_keys"]


@dataclass(frozen=True, slots=True)
class Merged:
    config: KeyConfig
    added: tuple[KnownKey, ...]
    """Keys appended read-only (the data needs them; the base config lacked them)."""


def merge_keys(base: KeyConfig | None, needed: Sequence[KnownKey]) -> Merged:
    providers = list(base.providers) if base is not None else []
    added: list[KnownKey] = []
    for key in needed:
        index = next((i for i, p in enumerate(providers) if p.kind == key.provider), None)
        if index is not None:
            present = next((k for k in providers[index].keys if k.name == key.name), None)
            if present is not None:
                if present.secret != key.secret:
                    raise SnapshotError(
                        f"the restored data needs {key.provider} key {key.name!r} "
                        f"({key.fingerprint}), but the current config has another key of that "
                        "name: rename one of them first"
                    )
                continue
            p = providers[index]
            providers[index] = ProviderKeys(p.kind, (*p.keys, ConfigKey(key.name, key.secret)))
        else:
            new = ProviderKeys(key.provider, (ConfigKey(key.name, key.secret),))
            at = len(providers)
            if providers and providers[-1].kind == "identity" and len(providers) > 1:
                at -= 1
            providers.insert(at, new)
        added.append(key)
    if not providers:
        providers = [ProviderKeys("identity")]
    if all(p.kind != "identity" for p in providers):
        providers.append(ProviderKeys("identity"))
    return Merged(KeyConfig(tuple(providers)), tuple(added))
