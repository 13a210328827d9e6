"""EncryptionConfiguration (apiserver.config.k8s.io/v1): load, validate, generate, hash, resolve.

Behaviour and messages follow kube-apiserver so that a file it accepts is
accepted here and a file it rejects is rejected with the same words; see
DESIGN.md. :func:`build_transformers` is the one place where a config meets
the envelope layer.
"""

from __future__ import annotations

from kcrypt.config._go import format_duration, parse_duration
from kcrypt.config.build import (
    KMSProviderFactory,
    Transformers,
    build_transformers,
    kms_close_grace_period,
)
from kcrypt.config.errors import (
    ConfigBuildError,
    ConfigError,
    ConfigInvalid,
    ConfigLoadError,
    FieldError,
    aggregate_message,
)
from kcrypt.config.generate import dump_json, dump_yaml, generate, new_key, to_dict
from kcrypt.config.hashing import config_hash
from kcrypt.config.load import LoadedConfig, load, load_file
from kcrypt.config.model import (
    EncryptionConfiguration,
    IdentityConfiguration,
    KeyConfiguration,
    KeysConfiguration,
    KMSConfiguration,
    ProviderConfiguration,
    ResourceConfiguration,
)
from kcrypt.config.resolve import GroupResource, ResourceMasked, ResourceRules, assign
from kcrypt.config.snapshot import ConfigSnapshot, build_snapshot
from kcrypt.config.validate import decode_secret, validate

__all__ = [
    "ConfigBuildError",
    "ConfigError",
    "ConfigInvalid",
    "ConfigLoadError",
    "ConfigSnapshot",
    "EncryptionConfiguration",
    "FieldError",
    "GroupResource",
    "IdentityConfiguration",
    "KMSConfiguration",
    "KMSProviderFactory",
    "KeyConfiguration",
    "KeysConfiguration",
    "LoadedConfig",
    "ProviderConfiguration",
    "ResourceConfiguration",
    "ResourceMasked",
    "ResourceRules",
    "Transformers",
    "aggregate_message",
    "assign",
    "build_snapshot",
    "build_transformers",
    "config_hash",
    "decode_secret",
    "dump_json",
    "dump_yaml",
    "format_duration",
    "generate",
    "kms_close_grace_period",
    "load",
    "load_file",
    "new_key",
    "parse_duration",
    "to_dict",
    "validate",
]
