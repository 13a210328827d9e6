"""The key manager: k3s's ``secrets-encrypt`` workflow as one level-triggered controller.

Pure core (stages, transitions, outcomes, the controller's rules in
:mod:`~kcrypt.encryption.steps`, status, config bytes), the I/O around it
(state record, server records, re-encryption engine, key-removal proof, the
runner), and :class:`EncryptionService` -- the supervisor handlers a server
mounts. A server builds one :class:`Controller` with its
:class:`ControllerHooks` and hands it to the service; nothing here imports
the server.
"""

from kcrypt.encryption.checkpoint import Checkpoint
from kcrypt.encryption.cluster import CLUSTER_KEY, ClusterSettings, join_cluster, reseal
from kcrypt.encryption.configjson import (
    config_sha256,
    parse_config,
    redacted_json,
    render_config,
    snapshot_for,
    transformer_for,
)
from kcrypt.encryption.errors import (
    ClusterMismatch,
    EncryptionError,
    HashMismatch,
    IncorrectStage,
    KeyInUse,
    ReencryptInProgress,
    StateConflict,
    TokenDoesNotOpen,
    UnknownRequest,
    UnsupportedConfig,
)
from kcrypt.encryption.executor import pass_targets
from kcrypt.encryption.hooks import ControllerHooks, Elector
from kcrypt.encryption.keys import key_type
from kcrypt.encryption.model import (
    ConfigKey,
    EncryptionState,
    KeyConfig,
    KeyProvider,
    ProviderKeys,
    ReencryptJob,
    ReencryptProgress,
    RetiredKey,
)
from kcrypt.encryption.publisher import ServerPublisher, list_servers
from kcrypt.encryption.reencrypt import CHECKPOINT_KEY, Reencryptor, Target, load_checkpoint
from kcrypt.encryption.runner import Controller, ControllerSettings
from kcrypt.encryption.safety import prove_unused, scan_key_usage
from kcrypt.encryption.sealing import TokenSealer
from kcrypt.encryption.service import EncryptionService
from kcrypt.encryption.snapshots import keys_of_model
from kcrypt.encryption.stages import Command, ParsedRequest, Stage, parse_request, request_body
from kcrypt.encryption.statestore import STATE_KEY, StateStore
from kcrypt.encryption.status import (
    progress_document,
    progress_line,
    render_json,
    render_text,
    status_document,
)
from kcrypt.encryption.steprecord import CONTROLLER_KEY
from kcrypt.encryption.steps import Action, Facts, LocalFacts, Step, next_step
from kcrypt.encryption.transitions import Plan, own_config_plan, plan, removal
from kcrypt.encryption.usage import Proof, check_removable, key_prefix

__all__ = [
    "CHECKPOINT_KEY",
    "CLUSTER_KEY",
    "CONTROLLER_KEY",
    "STATE_KEY",
    "Action",
    "Checkpoint",
    "ClusterMismatch",
    "ClusterSettings",
    "Command",
    "ConfigKey",
    "Controller",
    "ControllerHooks",
    "ControllerSettings",
    "Elector",
    "EncryptionError",
    "EncryptionService",
    "EncryptionState",
    "Facts",
    "HashMismatch",
    "IncorrectStage",
    "KeyConfig",
    "KeyInUse",
    "KeyProvider",
    "LocalFacts",
    "ParsedRequest",
    "Plan",
    "Proof",
    "ProviderKeys",
    "ReencryptInProgress",
    "ReencryptJob",
    "ReencryptProgress",
    "Reencryptor",
    "RetiredKey",
    "ServerPublisher",
    "Stage",
    "StateConflict",
    "StateStore",
    "Step",
    "Target",
    "TokenDoesNotOpen",
    "TokenSealer",
    "UnknownRequest",
    "UnsupportedConfig",
    "check_removable",
    "config_sha256",
    "join_cluster",
    "key_prefix",
    "key_type",
    "keys_of_model",
    "list_servers",
    "load_checkpoint",
    "next_step",
    "own_config_plan",
    "parse_config",
    "parse_request",
    "pass_targets",
    "plan",
    "progress_document",
    "progress_line",
    "prove_unused",
    "redacted_json",
    "removal",
    "render_config",
    "render_json",
    "render_text",
    "request_body",
    "reseal",
    "scan_key_usage",
    "snapshot_for",
    "status_document",
    "transformer_for",
]
