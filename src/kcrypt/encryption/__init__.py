"""The key manager: k3s's ``secrets-encrypt`` workflow, done safely and fast.

Pure core (stages, transitions, keys, status, config bytes), the
re-encryption engine, the key-usage safety scan, the datastore state record,
and :class:`EncryptionService` -- the supervisor handlers a server mounts.
"""

from kcrypt.encryption.configjson import config_sha256, parse_config, redacted_json, render_config
from kcrypt.encryption.errors import (
    EncryptionError,
    HashMismatch,
    IncorrectStage,
    KeyInUse,
    ReencryptInProgress,
    StateConflict,
    UnknownRequest,
    UnsupportedConfig,
)
from kcrypt.encryption.model import (
    ConfigKey,
    EncryptionState,
    KeyConfig,
    ProviderKeys,
    ReencryptJob,
    ReencryptProgress,
)
from kcrypt.encryption.reencrypt import CHECKPOINT_KEY, Checkpoint, Reencryptor, reencrypt
from kcrypt.encryption.safety import check_removable, scan_key_usage
from kcrypt.encryption.service import ApplyConfig, EncryptionService, transformer_for
from kcrypt.encryption.stages import Command, ParsedRequest, Stage, parse_request, request_body
from kcrypt.encryption.statestore import STATE_KEY, StateStore
from kcrypt.encryption.status import render_json, render_text, status_document
from kcrypt.encryption.transitions import Plan, plan, removal

__all__ = [
    "CHECKPOINT_KEY",
    "STATE_KEY",
    "ApplyConfig",
    "Checkpoint",
    "Command",
    "ConfigKey",
    "EncryptionError",
    "EncryptionService",
    "EncryptionState",
    "HashMismatch",
    "IncorrectStage",
    "KeyConfig",
    "KeyInUse",
    "ParsedRequest",
    "Plan",
    "ProviderKeys",
    "ReencryptInProgress",
    "ReencryptJob",
    "ReencryptProgress",
    "Reencryptor",
    "Stage",
    "StateConflict",
    "StateStore",
    "UnknownRequest",
    "UnsupportedConfig",
    "check_removable",
    "config_sha256",
    "parse_config",
    "parse_request",
    "plan",
    "redacted_json",
    "reencrypt",
    "removal",
    "render_config",
    "render_json",
    "render_text",
    "request_body",
    "scan_key_usage",
    "status_document",
    "transformer_for",
]
