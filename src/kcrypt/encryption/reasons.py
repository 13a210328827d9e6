"""Stable, kebab-case reason strings.

They appear in errors (``EncryptionError.reason``), in the state record's
job outcome, in log lines and in tests; they never change once released.
"""

from __future__ import annotations

__all__ = [
    "CLUSTER_MISMATCH",
    "INCORRECT_STAGE",
    "INVALID_REQUEST",
    "KEY_IN_USE",
    "LOCAL_CONFIG_CONFLICT",
    "REENCRYPT_CANCELLED",
    "REENCRYPT_FAILED",
    "REENCRYPT_FINISHED",
    "REENCRYPT_RUNNING",
    "SERVERS_NOT_CONVERGED",
    "STATE_CONFLICT",
    "TOKEN_MISMATCH",
    "UNSUPPORTED_CONFIG",
]

INVALID_REQUEST = "invalid-request"
INCORRECT_STAGE = "incorrect-stage"
SERVERS_NOT_CONVERGED = "servers-not-converged"
UNSUPPORTED_CONFIG = "unsupported-config"
KEY_IN_USE = "key-still-in-use"
REENCRYPT_RUNNING = "reencrypt-running"
REENCRYPT_FINISHED = "reencrypt-finished"
REENCRYPT_FAILED = "reencrypt-failed"
REENCRYPT_CANCELLED = "reencrypt-cancelled"
STATE_CONFLICT = "state-changed-concurrently"
TOKEN_MISMATCH = "token-does-not-open-state"
CLUSTER_MISMATCH = "critical-setting-mismatch"
LOCAL_CONFIG_CONFLICT = "local-config-changed-by-hand"
