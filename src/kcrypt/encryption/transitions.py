"""Pure stage transitions: (config, stage, command) -> new config, stage, job.

k3s's provider order (research note §2.3-2.4), with P the configured provider
(``--secrets-encryption-provider``) and k0 the old, k1 the new key:

=============  ================  ==========================================  ===================
command        stage needed      config written                              stage after
=============  ================  ==========================================  ===================
prepare        start/finished    [P[k0,k1], identity] (k1 appended last)      prepare
rotate         prepare           [P[k1,k0], identity] (right-rotate)          rotate
reencrypt      rotate            unchanged; pass, then drop P's last key      reencrypt_active ->
                                 (``--skip``: keep keys, back to old stage)   reencrypt_finished
rotate-keys    start/finished    [P[k1,...], others..., identity]; pass,      reencrypt_active ->
                                 then the removal rule                        reencrypt_finished
disable        any               [identity, P, others...]; pass (skip)        unchanged
enable         any               [P, others..., identity]; pass (skip)        unchanged
=============  ================  ==========================================  ===================

Removal rule (k3s ``reencryptAndRemoveKey``): if P has more than one key,
drop P's last key; else if another type still has keys, drop that type's last
key (a provider switch through rotate-keys: [secretbox[s1], aescbc[k0]] ->
[secretbox[s1]]); else nothing ("No keys to remove, switched from identity
provider").

Deliberate differences from k3s, each a fix for a reported failure:

* ``enable`` with no config, or an identity-only one, generates a key and
  really enables (k3s writes identity-only, or panics on it: research §5).
* ``disable`` keeps every key provider after identity (k3s drops the
  secondary type, which would strand values written with it mid-migration).
* ``prepare`` and ``rotate`` refuse secretbox with k3s's message; ``reencrypt``
  does not, so disable/enable with ``reencrypt --force --skip`` works for it.
* ``rotate-keys`` writes its final config at once: on a single server the
  intermediate ``[P[k0,k1]]`` step only matters for HA convergence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kcrypt.encryption.errors import EncryptionError, HashMismatch, UnsupportedConfig
from kcrypt.encryption.keys import new_key
from kcrypt.encryption.model import ConfigKey, KeyConfig, ProviderKeys
from kcrypt.encryption.stages import FORCEABLE, Command, ParsedRequest, Stage, check_stage

__all__ = [
    "KeyFactory",
    "Plan",
    "Removal",
    "disabled_config",
    "enabled_config",
    "new_key_factory",
    "own_config_plan",
    "plan",
    "removal",
]

KeyFactory = Callable[[str, KeyConfig | None], ConfigKey]


def new_key_factory(kind: str, config: KeyConfig | None) -> ConfigKey:
    """A fresh CSPRNG key with a k3s-style name no key of ``config`` has."""
    return new_key(kind, config=config)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a command does now (``config``, ``stage``) and whether a pass follows.

    ``reencrypt``: start a re-encryption pass under ``config``; when it is done
    record ``after_stage`` and, if ``remove_key``, apply :func:`removal`.
    """

    config: KeyConfig
    stage: Stage
    changed: bool
    reencrypt: bool
    remove_key: bool
    after_stage: Stage
    message: str


@dataclass(frozen=True, slots=True)
class Removal:
    config: KeyConfig
    removed: tuple[tuple[str, str], ...]
    """(kind, key name) pairs leaving the config."""
    message: str


def _others(config: KeyConfig | None, primary: str) -> list[ProviderKeys]:
    if config is None:
        return []
    return [p for p in config.providers if p.kind not in ("identity", primary) and p.keys]


def enabled_config(
    config: KeyConfig | None, primary: str, keys: tuple[ConfigKey, ...]
) -> KeyConfig:
    """``[primary[keys], other key types..., identity]`` (resources kept)."""
    providers = (ProviderKeys(primary, keys), *_others(config, primary), ProviderKeys("identity"))
    return config.with_providers(providers) if config else KeyConfig(providers)


def disabled_config(config: KeyConfig) -> KeyConfig:
    """``[identity, key providers in their current order...]``."""
    keyed = [p for p in config.providers if p.kind != "identity" and p.keys]
    return config.with_providers((ProviderKeys("identity"), *keyed))


def _no_secretbox(command: Command, provider: str) -> None:
    if provider == "secretbox":
        raise UnsupportedConfig(
            f"{command.value} does not support secretbox key type, use rotate-keys instead"
        )


def plan(
    config: KeyConfig | None,
    stage: Stage,
    request: ParsedRequest,
    *,
    provider: str,
    node: str,
    hash_error: str | None = None,
    previous_stage: Stage | None = None,
    make_key: KeyFactory = new_key_factory,
) -> Plan:
    """The outcome of ``request`` at ``stage``; raises k3s's errors when refused.

    ``previous_stage`` is the last stage before a running/failed pass (what
    ``--skip`` returns to when forced from ``reencrypt_active``).
    """
    cmd, force = request.command, request.force
    unchecked = cmd in (Command.ENABLE, Command.DISABLE) or (force and cmd in FORCEABLE)
    if hash_error and not unchecked:
        raise HashMismatch(hash_error)
    check_stage(cmd, stage, force=force, node=node)
    keep = previous_stage or stage

    def same(message: str) -> Plan:
        assert config is not None
        return Plan(
            config=config,
            stage=stage,
            changed=False,
            reencrypt=False,
            remove_key=False,
            after_stage=stage,
            message=message,
        )

    def changed(
        new: KeyConfig,
        message: str,
        *,
        at: Stage = stage,
        reencrypt: bool = True,
        remove_key: bool = False,
        after: Stage = keep,
    ) -> Plan:
        return Plan(
            config=new,
            stage=at,
            changed=True,
            reencrypt=reencrypt,
            remove_key=remove_key,
            after_stage=after,
            message=message,
        )

    if cmd is Command.ENABLE:
        if config is None or not config.key_kinds():
            key = make_key(provider, config)
            new = enabled_config(config, provider, (key,))
            return changed(new, "Enabling secrets encryption")
        if config.enabled:
            return same("Secrets encryption already enabled")
        keys = config.keys_of(provider)
        if not keys:
            raise EncryptionError(
                f"cannot enable secrets encryption with {provider} key type, no keys found"
            )
        return changed(enabled_config(config, provider, keys), "Enabling secrets encryption")
    if cmd is Command.DISABLE:
        if config is None:
            identity_only = KeyConfig((ProviderKeys("identity"),))
            return changed(
                identity_only, "Secrets encryption already disabled", reencrypt=False, after=stage
            )
        if not config.enabled:
            return same("Secrets encryption already disabled")
        return changed(disabled_config(config), "Disabling secrets encryption")
    if cmd is Command.ROTATE_KEYS:
        key = make_key(provider, config)
        keys = (key, *(config.keys_of(provider) if config else ()))
        return changed(
            enabled_config(config, provider, keys),
            f"Rotating secrets-encryption {provider} keys",
            at=Stage.REENCRYPT_ACTIVE,
            remove_key=True,
            after=Stage.REENCRYPT_FINISHED,
        )
    if config is None:
        raise EncryptionError("secrets encryption is not configured; run 'enable' first")
    if cmd is Command.REENCRYPT:
        return Plan(
            config=config,
            stage=Stage.REENCRYPT_ACTIVE,
            changed=False,
            reencrypt=True,
            remove_key=not request.skip,
            after_stage=keep if request.skip else Stage.REENCRYPT_FINISHED,
            message="Reencrypting secrets",
        )
    _no_secretbox(cmd, provider)
    keys = config.keys_of(provider)
    if not keys:
        raise EncryptionError(
            f"{cmd.value} needs existing {provider} keys; use rotate-keys to switch provider"
        )
    if cmd is Command.PREPARE:
        key = make_key(provider, config)
        new = enabled_config(config, provider, (*keys, key))
        return changed(new, "Adding key", at=Stage.PREPARE, reencrypt=False, after=Stage.PREPARE)
    # Command.ROTATE: right-rotate, the newest (last) key becomes the writer.
    new = enabled_config(config, provider, (keys[-1], *keys[:-1]))
    return changed(
        new,
        f"Encryption {provider} keys right rotated",
        at=Stage.ROTATE,
        reencrypt=False,
        after=Stage.ROTATE,
    )


def removal(config: KeyConfig, *, provider: str) -> Removal:
    """k3s's removal rule after a finished pass (see the module docstring)."""
    primary = config.keys_of(provider)
    target: str | None = None
    if len(primary) > 1:
        target = provider
    else:
        others = _others(config, provider)
        if primary and others:
            target = others[-1].kind
    if target is None:
        return Removal(config, (), "No keys to remove, switched from identity provider")
    providers: list[ProviderKeys] = []
    removed: tuple[tuple[str, str], ...] = ()
    for p in config.providers:
        if p.kind == target:
            removed = ((p.kind, p.keys[-1].name),)
            if len(p.keys) > 1:
                providers.append(ProviderKeys(p.kind, p.keys[:-1]))
        else:
            providers.append(p)
    names = ", ".join(n for _, n in removed)
    return Removal(
        config.with_providers(tuple(providers)), removed, f"Removing {target} key: {names}"
    )


def own_config_plan(command: Command, *, kms_first: str = "", key_id_hash: str = "") -> str:
    """What ``secrets-encrypt`` does on a config the operator owns (a file given
    with ``--encryption-provider-config``), whose content the server never
    changes: ``reencrypt`` rewrites every value to the first provider, and on a
    KMS-first config ``rotate-keys`` does the same without asking the plugin
    for anything (rotating the key is the KMS's job). Returns the message;
    other commands raise :class:`UnsupportedConfig`.
    """
    target = f" to KMS provider {kms_first}'s current key ID (hash {key_id_hash})"
    if command is Command.REENCRYPT:
        return "Reencrypting secrets" + (target if kms_first else "")
    if command is Command.ROTATE_KEYS and kms_first:
        return (
            f'KMS provider "{kms_first}" writes first: its key is rotated by the KMS, so '
            f"nothing is asked of the plugin; re-encrypting secrets{target}"
        )
    raise UnsupportedConfig(
        f"{command.value} changes the encryption config, which this server does not own"
        + ("" if command is not Command.ROTATE_KEYS else " (rotate-keys without a KMS first)")
    )
