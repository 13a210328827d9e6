"""k3s's encryption-config.json bytes: render, parse, and build its transformer.

k3s writes the file with Go's ``json.Marshal`` (compact, field order kind,
apiVersion, resources; no trailing newline) and hashes the exact bytes, so
kcrypt renders the same bytes for the same keys::

    {"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",
     "resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[
     {"name":"aescbckey","secret":"<b64>"}]}},{"identity":{}}]}]}

Parsing accepts any JSON or YAML EncryptionConfiguration whose single
resources entry names ``secrets`` (and possibly other resources, such as
``configmaps``) with aescbc, aesgcm, secretbox and identity providers, and
renders every one of them back: a resource dropped from the rendered file
would leave its values unreadable once their key leaves the config.
Anything the workflow cannot render -- wildcards, several entries, KMS or
unknown fields -- is refused before anything is saved (k3s: ``unsupported
encryption keys found``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

import yaml

from kcrypt.config import ConfigError, ConfigSnapshot, build_snapshot
from kcrypt.encryption.errors import EncryptionError, UnsupportedConfig
from kcrypt.encryption.model import KEY_PROVIDERS, ConfigKey, KeyConfig, ProviderKeys
from kcrypt.envelope import Transformer
from kcrypt.sensitive import SecretBytes

__all__ = [
    "config_sha256",
    "parse_config",
    "redacted_json",
    "render_config",
    "snapshot_for",
    "transformer_for",
]

REDACTED = "<redacted secret>"
MAX_PROVIDERS = 4
"""Three key types plus identity (k3s allows 3: two key types plus identity)."""


def _document(config: KeyConfig, *, redact: bool) -> dict[str, Any]:
    providers: list[dict[str, Any]] = []
    for p in config.providers:
        if p.kind == "identity":
            providers.append({"identity": {}})
            continue
        keys = [
            {
                "name": k.name,
                "secret": REDACTED if redact else base64.b64encode(k.secret.reveal()).decode(),
            }
            for k in p.keys
        ]
        providers.append({p.kind: {"keys": keys}})
    return {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": [{"resources": list(config.resources), "providers": providers}],
    }


def render_config(config: KeyConfig) -> bytes:
    """The exact bytes k3s would write for ``config``."""
    return json.dumps(_document(config, redact=False), separators=(",", ":")).encode()


def redacted_json(config: KeyConfig) -> str:
    """Indented JSON with every secret replaced by ``<redacted secret>`` (for --dry-run)."""
    return json.dumps(_document(config, redact=True), indent=2)


def config_sha256(data: bytes) -> str:
    """k3s's config hash: hex sha256 of the exact file bytes."""
    return hashlib.sha256(data).hexdigest()


def parse_config(data: bytes) -> KeyConfig:
    """The managed view of a config file; raises :class:`UnsupportedConfig`."""
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UnsupportedConfig(f"unable to parse encryption configuration: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise UnsupportedConfig("unable to parse encryption configuration: no resources list")
    resources = doc["resources"]
    entry = resources[0] if len(resources) == 1 else None
    names = entry.get("resources") if isinstance(entry, dict) else None
    if not isinstance(entry, dict) or not isinstance(names, list) or "secrets" not in names:
        raise UnsupportedConfig(
            "unsupported encryption configuration: expected one resources entry covering secrets"
        )
    if not all(isinstance(n, str) and n and "*" not in n for n in names):
        raise UnsupportedConfig(
            "unsupported encryption configuration: secrets-encrypt manages named resources "
            f"only, not {names}; use --encryption-provider-config for wildcards"
        )
    if set(entry) - {"resources", "providers"}:
        raise UnsupportedConfig("unsupported encryption configuration: unknown resources fields")
    raw_providers = entry.get("providers") or []
    if len(raw_providers) > MAX_PROVIDERS:
        n = len(raw_providers)
        raise UnsupportedConfig(
            f"more than {MAX_PROVIDERS} providers ({n}) found in secrets encryption"
        )
    providers: list[ProviderKeys] = []
    for raw in raw_providers:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise UnsupportedConfig("unsupported encryption keys found")
        ((kind, body),) = raw.items()
        if kind == "identity":
            if body not in ({}, None):
                raise UnsupportedConfig("unsupported encryption keys found: identity with fields")
            providers.append(ProviderKeys("identity"))
        elif kind in KEY_PROVIDERS:
            providers.append(ProviderKeys(kind, _keys(body)))
        else:
            raise UnsupportedConfig("unsupported encryption keys found")
    if not providers:
        raise UnsupportedConfig("unsupported encryption configuration: no providers")
    return KeyConfig(tuple(providers), tuple(names))


def _keys(body: object) -> tuple[ConfigKey, ...]:
    if isinstance(body, dict) and set(body) - {"keys"}:
        raise UnsupportedConfig("unsupported encryption keys found: unknown provider fields")
    keys = body.get("keys") if isinstance(body, dict) else None
    out: list[ConfigKey] = []
    for k in keys or []:
        name = k.get("name") if isinstance(k, dict) else None
        secret = k.get("secret") if isinstance(k, dict) else None
        if set(k) - {"name", "secret"} or not isinstance(name, str) or not isinstance(secret, str):
            raise UnsupportedConfig("unsupported encryption keys found: key without name or secret")
        try:
            raw = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise UnsupportedConfig(f"key {name}: secret is not valid base64") from None
        out.append(ConfigKey(name, SecretBytes(raw)))
    return tuple(out)


def snapshot_for(config: bytes, *, source: str = "<memory>") -> ConfigSnapshot:
    """``config`` validated by kube-apiserver's rules and built (no KMS plugins)."""
    try:
        return build_snapshot(config, source=source)
    except ConfigError as exc:
        raise EncryptionError(f"invalid encryption configuration: {exc}") from None


def transformer_for(config: bytes) -> Transformer:
    """The ``secrets`` transformer of ``config`` (tests and tools; servers share snapshots)."""
    return snapshot_for(config).for_resource("secrets")
