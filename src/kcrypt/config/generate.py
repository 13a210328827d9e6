"""Fresh EncryptionConfigurations and their file forms.

Generated files are what k3s writes (compact JSON, upstream's field order), so
kube-apiserver, k3s and kcrypt all load them; keys come from ``os.urandom``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from typing import Any

import yaml

from kcrypt.config._go import format_duration
from kcrypt.config.model import (
    EncryptionConfiguration,
    IdentityConfiguration,
    KeyConfiguration,
    KeysConfiguration,
    ProviderConfiguration,
    ResourceConfiguration,
)

__all__ = ["KEY_SIZE", "dump_json", "dump_yaml", "generate", "new_key", "to_dict"]

KEY_SIZE = {"aescbc": 32, "aesgcm": 32, "secretbox": 32}


def new_key(name: str, provider: str = "aescbc") -> KeyConfiguration:
    """A fresh random key of the full size ``provider`` takes (32 bytes for all three)."""
    if provider not in KEY_SIZE:
        raise ValueError(f"unknown key provider {provider!r}; expected one of {sorted(KEY_SIZE)}")
    secret = base64.b64encode(os.urandom(KEY_SIZE[provider])).decode("ascii")
    return KeyConfiguration(name=name, secret=secret)


def generate(
    provider: str = "aescbc",
    *,
    key_name: str,
    resources: Sequence[str] = ("secrets",),
    identity_last: bool = True,
) -> EncryptionConfiguration:
    """One entry for ``resources``: ``provider`` with a new key writes; identity (last)
    keeps plaintext written before encryption was enabled readable."""
    keys = KeysConfiguration((new_key(key_name, provider),))
    if provider == "aescbc":
        first = ProviderConfiguration(aescbc=keys)
    elif provider == "aesgcm":
        first = ProviderConfiguration(aesgcm=keys)
    else:
        first = ProviderConfiguration(secretbox=keys)
    providers = [first]
    if identity_last:
        providers.append(ProviderConfiguration(identity=IdentityConfiguration()))
    entry = ResourceConfiguration(resources=tuple(resources), providers=tuple(providers))
    return EncryptionConfiguration(resources=(entry,))


def to_dict(config: EncryptionConfiguration) -> dict[str, Any]:
    """The v1 document in Go's marshal order (``omitempty`` fields left out when unset)."""
    return {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": [
            {
                "resources": list(entry.resources),
                "providers": [_provider(p) for p in entry.providers],
            }
            for entry in config.resources
        ],
    }


def _provider(provider: ProviderConfiguration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("aesgcm", "aescbc", "secretbox"):
        keys = getattr(provider, name)
        if keys is not None:
            out[name] = {"keys": [{"name": k.name, "secret": k.secret} for k in keys.keys]}
    if provider.identity is not None:
        out["identity"] = {}
    if provider.kms is not None:
        kms = provider.kms
        doc: dict[str, Any] = {"apiVersion": kms.api_version, "name": kms.name}
        if kms.cachesize is not None:
            doc["cachesize"] = kms.cachesize
        doc["endpoint"] = kms.endpoint
        doc["timeout"] = format_duration(kms.timeout_seconds)
        out["kms"] = doc
    return out


def dump_json(config: EncryptionConfiguration) -> bytes:
    """Compact JSON, as k3s writes ``encryption-config.json``."""
    return json.dumps(to_dict(config), separators=(",", ":")).encode()


def dump_yaml(config: EncryptionConfiguration) -> bytes:
    """The same document as YAML, in the same field order."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=False).encode()
