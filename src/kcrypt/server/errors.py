"""Server errors: what stops ``kcrypt server`` from starting.

    ServerError
    ├── TokenMismatch      --token differs from the token stored under the data dir
    ├── InvalidSettings    flags that contradict each other or name unusable paths
    └── StartupConfigError the encryption config file is invalid at start

Messages name files and flags, never the token, key material or secret values.
"""

from __future__ import annotations

from pathlib import Path

from kcrypt.errors import KcryptError

__all__ = ["InvalidSettings", "ServerError", "StartupConfigError", "TokenMismatch"]


class ServerError(KcryptError):
    """Base class of the server layer's errors."""


class TokenMismatch(ServerError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the given --token does not match the token stored in {path}; "
            "start without --token to use the stored one, or remove that file "
            "(and the admin kubeconfig) to set a new token"
        )
        self.path = path


class InvalidSettings(ServerError):
    pass


class StartupConfigError(ServerError):
    """The encryption config at ``path`` is unusable; ``detail`` is upstream's message."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"error loading encryption provider config file {path}: {detail}")
        self.path = path
        self.detail = detail
