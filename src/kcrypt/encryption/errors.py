"""Encryption (key manager) errors.

    EncryptionError              carries ``reason`` (see reasons.py) and an HTTP ``code``
    ├── UnknownRequest           a supervisor request k3s would not understand
    ├── IncorrectStage           the command is not allowed at the current stage
    ├── HashMismatch             servers run different configs (HA; ``--force`` skips)
    ├── UnsupportedConfig        a config the k3s workflow cannot manage (kms, > 3 providers, ...)
    ├── KeyInUse                 a key may not be removed: stored values still use it
    ├── ReencryptInProgress      another re-encryption is running
    ├── StateConflict            the state record changed under us (compared write failed)
    ├── TokenDoesNotOpen         the server token does not open the sealed state (HA join)
    └── ClusterMismatch          a joining server's critical setting differs from the cluster's

Messages are the real reason (k3s's text where k3s has one) so the CLI can
print them; they name keys by *name*, never key material.
"""

from __future__ import annotations

from collections.abc import Mapping

from kcrypt.encryption import reasons
from kcrypt.errors import KcryptError

__all__ = [
    "ClusterMismatch",
    "EncryptionError",
    "HashMismatch",
    "IncorrectStage",
    "KeyInUse",
    "ReencryptInProgress",
    "StateConflict",
    "TokenDoesNotOpen",
    "UnknownRequest",
    "UnsupportedConfig",
]


class EncryptionError(KcryptError):
    """Base class; ``code`` is the HTTP status a supervisor endpoint answers with."""

    reason: str = reasons.INVALID_REQUEST
    code: int = 400


class UnknownRequest(EncryptionError):
    reason = reasons.INVALID_REQUEST


class IncorrectStage(EncryptionError):
    """k3s: ``incorrect stage: <stage> found on node <node>``."""

    reason = reasons.INCORRECT_STAGE

    def __init__(self, stage: str, node: str) -> None:
        super().__init__(f"incorrect stage: {stage} found on node {node}")
        self.stage = stage
        self.node = node


class HashMismatch(EncryptionError):
    reason = reasons.SERVERS_NOT_CONVERGED

    """k3s: ``hash does not match between <a> and <b>``; the message is that text."""


class UnsupportedConfig(EncryptionError):
    reason = reasons.UNSUPPORTED_CONFIG


class KeyInUse(EncryptionError):
    """A key cannot leave the config: ``counts`` maps envelope prefix -> values using it."""

    reason = reasons.KEY_IN_USE
    code = 409

    def __init__(self, keys: list[str], counts: Mapping[str, int], *, prefix: str) -> None:
        usage = ", ".join(f"{k or 'identity (plaintext)'}: {n}" for k, n in sorted(counts.items()))
        super().__init__(
            f"refusing to remove key {', '.join(keys)}: values under {prefix} still use it "
            f"(values per key: {usage}); run 'secrets-encrypt reencrypt --force' and retry"
        )
        self.keys = list(keys)
        self.counts = dict(counts)


class ReencryptInProgress(EncryptionError):
    reason = reasons.REENCRYPT_RUNNING
    code = 409

    def __init__(self, detail: str = "") -> None:
        msg = "another reencrypt is already active"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class StateConflict(EncryptionError):
    reason = reasons.STATE_CONFLICT
    code = 409


class TokenDoesNotOpen(EncryptionError):
    """The sealed encryption state cannot be opened with this server's token."""

    reason = reasons.TOKEN_MISMATCH
    code = 403

    def __init__(self, detail: str = "") -> None:
        msg = "the token does not match the cluster's encryption state"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class ClusterMismatch(EncryptionError):
    """k3s: ``critical configuration value mismatch between servers``; names both values."""

    reason = reasons.CLUSTER_MISMATCH

    def __init__(self, setting: str, ours: str, cluster: str, *, hint: str) -> None:
        super().__init__(
            f"critical configuration value mismatch between servers: {setting} is {ours} "
            f"on this server but {cluster} in the cluster; {hint}"
        )
        self.setting = setting
        self.ours = ours
        self.cluster = cluster
