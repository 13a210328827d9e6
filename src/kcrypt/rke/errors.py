"""Errors of ``kcrypt up``, ``kcrypt encrypt rotate-key`` and ``kcrypt rewrite``.

    RkeError
    ├── ClusterFileError   cluster.yml cannot be read or says something kcrypt cannot do
    ├── StateFileError     cluster.rkestate cannot be read, opened or written
    ├── Refused            a change that would be unsafe (or that RKE's rules forbid);
    │                      raised before any node is touched
    ├── NodeError          a node cannot be reached, written or its command failed
    ├── NotLoaded          an API server did not prove it loaded a deployed file
    ├── KubeAPIError       the Kubernetes API answered an error (status, reason, message)
    └── RewriteError       a rewrite pass stopped; its checkpoint lets a rerun resume

Messages name files, nodes, key *names* and config hashes; never key bytes,
tokens or passphrases.
"""

from __future__ import annotations

from kcrypt.errors import KcryptError

__all__ = [
    "ClusterFileError",
    "KubeAPIError",
    "NodeError",
    "NotLoaded",
    "Refused",
    "RewriteError",
    "RkeError",
    "StateFileError",
]


class RkeError(KcryptError):
    """Base class of the RKE workflow's errors."""


class ClusterFileError(RkeError):
    """cluster.yml is missing, not YAML, or has a field kcrypt cannot accept."""


class StateFileError(RkeError):
    """The cluster state file cannot be used."""


class Refused(RkeError):
    """The requested change is refused; nothing was deployed."""


class NodeError(RkeError):
    """A node could not be reached or changed."""


class NotLoaded(RkeError):
    """An API server did not show that it serves with a deployed config file."""


class KubeAPIError(RkeError):
    """An error answer of the Kubernetes API."""

    def __init__(self, message: str, *, code: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class RewriteError(RkeError):
    """A rewrite pass failed part-way; rerunning resumes from the checkpoint."""
