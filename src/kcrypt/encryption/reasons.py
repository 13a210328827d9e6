"""Stable, kebab-case reason strings: the one vocabulary of "why".

They appear in errors (``EncryptionError.reason``), in the controller's
stored step (``/kcrypt/encryption/controller``), in ``status`` (text and
JSON), in log lines and in tests; they never change once released. Step
reasons say what the controller is doing or waiting for, in the manner of
library-go's ``key-does-not-exist`` / ``rotation-interval-has-passed``.
"""

from __future__ import annotations

__all__ = [
    "CLUSTER_MISMATCH",
    "CONFIG_NOT_APPLIED",
    "HISTORY_NOT_COMPACTED",
    "IDLE",
    "INCORRECT_STAGE",
    "INVALID_REQUEST",
    "KEY_IN_USE",
    "KEY_REMOVAL_NOT_PROVEN",
    "LOCAL_CONFIG_CONFLICT",
    "NO_ENCRYPTION_STATE",
    "OLD_KEY_NOT_REMOVED",
    "REENCRYPT_FAILED",
    "REENCRYPT_RUNNING",
    "RETRYING",
    "ROTATION_INTERVAL_HAS_PASSED",
    "ROTATION_SCHEDULED",
    "SERVERS_DISAGREE",
    "SERVERS_NOT_CONVERGED",
    "STAGE_NOT_RECORDED",
    "STATE_CONFLICT",
    "TOKEN_MISMATCH",
    "UNREADABLE_VALUES",
    "UNSUPPORTED_CONFIG",
    "VALUES_NOT_REENCRYPTED",
    "WRITE_KEY_NOT_PROMOTED",
]

# -- errors of commands ------------------------------------------------------------------
INVALID_REQUEST = "invalid-request"
INCORRECT_STAGE = "incorrect-stage"
UNSUPPORTED_CONFIG = "unsupported-config"
STATE_CONFLICT = "state-changed-concurrently"
TOKEN_MISMATCH = "token-does-not-open-state"
CLUSTER_MISMATCH = "critical-setting-mismatch"

# -- controller steps: nothing to do ------------------------------------------------------
IDLE = "idle"
NO_ENCRYPTION_STATE = "no-encryption-state"
ROTATION_SCHEDULED = "rotation-scheduled"

# -- controller steps: waiting ------------------------------------------------------------
SERVERS_NOT_CONVERGED = "servers-not-converged"
SERVERS_DISAGREE = "servers-disagree"
LOCAL_CONFIG_CONFLICT = "local-config-changed-by-hand"
REENCRYPT_FAILED = "reencrypt-failed"
RETRYING = "retrying-after-error"

# -- controller steps: acting ------------------------------------------------------------
CONFIG_NOT_APPLIED = "config-not-applied-here"
WRITE_KEY_NOT_PROMOTED = "write-key-not-promoted"
VALUES_NOT_REENCRYPTED = "values-not-reencrypted"
REENCRYPT_RUNNING = "reencrypt-running"
KEY_REMOVAL_NOT_PROVEN = "key-removal-not-proven"
OLD_KEY_NOT_REMOVED = "old-key-not-removed"
HISTORY_NOT_COMPACTED = "history-not-compacted"
STAGE_NOT_RECORDED = "stage-not-recorded"
ROTATION_INTERVAL_HAS_PASSED = "rotation-interval-has-passed"
UNREADABLE_VALUES = "unreadable-values"
KEY_IN_USE = "key-still-in-use"
