"""What cluster.yml asks for, given what the cluster runs: the wanted config.

RKE's rules, with kcrypt's differences:

* ``enabled: true`` with no ``custom_config`` (managed): the running managed
  config stays; from anything else (nothing, disabled, a custom config) a new
  key is generated -- so disabling then enabling again never reuses a key.
* rotation (``rotate_encryption_key: true`` or ``kcrypt encrypt rotate-key``):
  managed gets a new key. Custom configs, which RKE refuses to rotate, get a
  new key first in each resource entry written by a local-key provider, and
  entries written by a KMS plugin are rewritten (to the plugin's current key).
* ``custom_config`` is validated with kube-apiserver's rules and messages
  before anything else happens, and deployed as given (its bytes as dumped
  from cluster.yml). If it has not changed since it was deployed, the running
  config stays (it may be a rotated form of it).
* ``enabled: false`` or no block: identity is written for every resource the
  running config names (RKE deletes the file instead; see docs/rke.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from kcrypt.config import (
    ConfigError,
    EncryptionConfiguration,
    KeyConfiguration,
    KeysConfiguration,
    ProviderConfiguration,
    ResourceConfiguration,
    dump_yaml,
    load,
)
from kcrypt.rke.clusterfile import EncryptionSpec
from kcrypt.rke.errors import ClusterFileError, Refused
from kcrypt.rke.keys import new_named_key
from kcrypt.rke.keyset import with_keys
from kcrypt.rke.transition import IDENTITY, disabled_config, equivalent

__all__ = ["Current", "Desired", "custom_bytes", "desired_config", "managed_config"]

CUSTOM = "services.kube-api.secrets_encryption_config.custom_config"
KeyFactory = Callable[[Collection[str], str], KeyConfiguration]


@dataclass(frozen=True, slots=True)
class Current:
    """What the state file (or the nodes) say runs now."""

    config: EncryptionConfiguration | None = None
    rendered: bytes | None = field(default=None, repr=False)
    mode: str | None = None
    """``managed``, ``custom``, ``disabled`` or None (never set up by kcrypt/RKE)."""
    custom: Mapping[str, Any] | None = field(default=None, repr=False)
    """The cluster.yml custom_config the running config came from."""


@dataclass(frozen=True, slots=True)
class Desired:
    mode: str
    config: EncryptionConfiguration | None
    """None: nothing to deploy (encryption was never on and is not wanted)."""
    rendered: bytes | None = field(repr=False)
    new_keys: tuple[str, ...] = ()
    force_rewrite: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def custom_bytes(custom: Mapping[str, Any]) -> bytes:
    """The custom config's file: the mapping from cluster.yml dumped as YAML, keys in order."""
    return yaml.safe_dump(dict(custom), sort_keys=False, default_flow_style=False).encode()


def validate_custom(custom: Mapping[str, Any]) -> EncryptionConfiguration:
    try:
        return load(custom_bytes(custom), reload=True, source=CUSTOM).config
    except ConfigError as exc:
        raise ClusterFileError(f"{CUSTOM} is not a valid EncryptionConfiguration: {exc}") from None


def managed_config(key: KeyConfiguration) -> EncryptionConfiguration:
    """RKE's managed file: aescbc with one key, then identity, for secrets."""
    aescbc = ProviderConfiguration(aescbc=KeysConfiguration((key,)))
    entry = ResourceConfiguration(resources=("secrets",), providers=(aescbc, IDENTITY))
    return EncryptionConfiguration(resources=(entry,))


def desired_config(
    spec: EncryptionSpec,
    *,
    current: Current,
    rotate: bool,
    taken: Collection[str],
    key_factory: KeyFactory = new_named_key,
) -> Desired:
    used = set(taken)

    def fresh(provider: str = "aescbc") -> KeyConfiguration:
        key = key_factory(used, provider)
        used.add(key.name)
        return key

    if spec.mode == "disabled":
        if rotate:
            raise Refused(
                "can't rotate encryption keys: Encryption Configuration is disabled. "
                "Please disable rotate_encryption_key and run kcrypt up again"
            )
        if current.config is None or equivalent(current.config, disabled_config(current.config)):
            return Desired("disabled", current.config, current.rendered)
        final = disabled_config(current.config)
        return Desired("disabled", final, dump_yaml(final))

    if spec.mode == "managed":
        if current.mode == "managed" and current.config is not None and not rotate:
            return Desired("managed", current.config, current.rendered)
        key = fresh()
        final = managed_config(key)
        return Desired("managed", final, dump_yaml(final), new_keys=(key.name,))

    assert spec.custom_config is not None
    given = validate_custom(spec.custom_config)
    unchanged = (
        current.mode == "custom"
        and current.config is not None
        and current.custom is not None
        and custom_bytes(current.custom) == custom_bytes(spec.custom_config)
    )
    if not rotate:
        if unchanged:
            return Desired("custom", current.config, current.rendered)
        return Desired("custom", given, custom_bytes(spec.custom_config))
    base = current.config if unchanged and current.config is not None else given
    return _rotate_custom(base, fresh)


def _rotate_custom(
    config: EncryptionConfiguration, fresh: Callable[[str], KeyConfiguration]
) -> Desired:
    new: dict[str, KeyConfiguration] = {}
    kms_rules: list[str] = []
    entries = []
    for entry in config.resources:
        first = entry.providers[0]
        kind = first.kinds()[0]
        if kind in ("aescbc", "aesgcm", "secretbox"):
            key = new.get(kind) or new.setdefault(kind, fresh(kind))
            rotated = with_keys(first, kind, (key,))
            entry = replace(entry, providers=(rotated, *entry.providers[1:]))
        elif kind == "kms":
            kms_rules += list(entry.resources)
        entries.append(entry)
    if not new and not kms_rules:
        raise Refused(
            "can't rotate encryption keys: every resource in the custom configuration is "
            "written unencrypted (identity first); there is no key to rotate"
        )
    final = EncryptionConfiguration(resources=tuple(entries))
    notes: tuple[str, ...] = ()
    if kms_rules:
        notes = (
            f"KMS-encrypted resources ({', '.join(kms_rules)}) are rewritten to the "
            f"plugin's current key",
        )
    return Desired(
        "custom",
        final,
        dump_yaml(final),
        new_keys=tuple(k.name for k in new.values()),
        force_rewrite=tuple(kms_rules),
        notes=notes,
    )
