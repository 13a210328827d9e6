"""Pure steps of an HA key rotation: add a key reading-only, then promote it.

The k3s HA hazard (research note §2.5): ``rotate-keys`` on S1 makes a new key
the write key and rewrites every secret while S2 and S3 still run a config
without that key, so reads through them fail. kcrypt splits the change so
that no server ever lacks a key a value (or a concurrent API write) uses:

1. :func:`staged_config` -- the new key joins the config *after* the current
   write key (reading-only); every live server applies it;
2. :func:`promoted_config` -- the new key becomes the write key; every live
   server applies it before any value is rewritten (the re-encryption runner
   waits on :func:`kcrypt.encryption.servers.convergence`);
3. the pass, then :func:`kcrypt.encryption.transitions.removal` after the
   proof; every live server applies the smaller config.

The controller (:mod:`kcrypt.encryption.steps`) takes these steps; a
cluster of one takes them too.

The classic ``prepare`` / ``rotate`` / ``reencrypt`` procedure has the same
shape, one command per step, and the commands refuse while servers disagree.
"""

from __future__ import annotations

from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.encryption.transitions import enabled_config

__all__ = ["promoted_config", "staged_config"]


def staged_config(config: KeyConfig | None, provider: str, key: ConfigKey) -> KeyConfig:
    """``config`` with ``key`` readable but not writing.

    The key goes last among ``provider``'s keys; when ``provider`` has no
    keys yet (a provider switch), a ``provider`` element goes right after
    the current writer. The writer stays what it was.
    """
    base = config if config is not None else KeyConfig((ProviderKeys("identity"),))
    providers = list(base.providers)
    for i, p in enumerate(providers):
        if p.kind == provider:
            providers[i] = ProviderKeys(provider, (*p.keys, key))
            return base.with_providers(tuple(providers))
    providers.insert(1 if providers else 0, ProviderKeys(provider, (key,)))
    return base.with_providers(tuple(providers))


def promoted_config(config: KeyConfig, provider: str) -> KeyConfig:
    """The newest (last) key of ``provider`` becomes the write key.

    ``[provider[k_new, k_old...], other key providers..., identity]``: the
    order :func:`~kcrypt.encryption.transitions.plan` gives ``rotate-keys``.
    """
    keys = config.keys_of(provider)
    if not keys:
        raise ValueError(f"no {provider} key to promote")
    return enabled_config(config, provider, (keys[-1], *keys[:-1]))
