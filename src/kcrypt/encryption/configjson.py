"""k3s's encryption-config.json bytes: render, parse, and build its transformer.

k3s writes the file with Go's ``json.Marshal`` (compact, field order kind,
apiVersion, resources; no trailing newline) and hashes the exact bytes, so
kcrypt renders the same bytes for the same keys::

    {"kind":"EncryptionConfiguration","apiVersion":"apiserver.config.k8s.io/v1",
     "resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[
     {"name":"aescbckey","secret":"<b64>"}]}},{"identity":{}}]}]}

Parsing accepts any JSON or YAML EncryptionConfiguration whose single
resources entry covers ``secrets`` with aescbc, aesgcm, secretbox and identity
providers; anything else cannot be managed by the workflow
(k3s: ``unsupported encryption keys found``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

import yaml

from kcrypt.config import ConfigError, build_transformers, load
from kcrypt.encryption.errors import EncryptionError, UnsupportedConfig
from kcrypt.encryption.model import KEY_PROVIDERS, ConfigKey, KeyConfig, ProviderKeys
from kcrypt.envelope import Transformer
from kcrypt.sensitive import SecretBytes

__all__ = ["config_sha256", "parse_config", "redacted_json", "render_config", "transformer_for"]

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
        "resources": [{"resources": ["secrets"], "providers": providers}],
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
    if len(resources) != 1 or "secrets" not in (resources[0] or {}).get("resources", []):
        raise UnsupportedConfig(
            "unsupported encryption configuration: expected one resources entry covering secrets"
        )
    raw_providers = resources[0].get("providers") or []
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
            providers.append(ProviderKeys("identity"))
        elif kind in KEY_PROVIDERS:
            providers.append(ProviderKeys(kind, _keys(body)))
        else:
            raise UnsupportedConfig("unsupported encryption keys found")
    if not providers:
        raise UnsupportedConfig("unsupported encryption configuration: no providers")
    return KeyConfig(tuple(providers))


def _keys(body: object) -> tuple[ConfigKey, ...]:
    keys = body.get("keys") if isinstance(body, dict) else None
    out: list[ConfigKey] = []
    for k in keys or []:
        name = k.get("name") if isinstance(k, dict) else None
        secret = k.get("secret") if isinstance(k, dict) else None
        if not isinstance(name, str) or not isinstance(secret, str):
            raise UnsupportedConfig("unsupported encryption keys found: key without name or secret")
        try:
            raw = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise UnsupportedConfig(f"key {name}: secret is not valid base64") from None
        out.append(ConfigKey(name, SecretBytes(raw)))
    return tuple(out)


def transformer_for(config: bytes) -> Transformer:
    """The ``secrets`` transformer of ``config``, validated by kube-apiserver's rules."""
    try:
        return build_transformers(load(config).config).for_resource("secrets")
    except ConfigError as exc:
        raise EncryptionError(f"invalid encryption configuration: {exc}") from None
