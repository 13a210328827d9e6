"""Audit errors.

AuditError             a datastore or config the audit cannot use (named, never a key)
└── DecryptRefused     ``kcrypt decrypt`` asked to do something it never does (write)
"""

from __future__ import annotations

from kcrypt.errors import KcryptError

__all__ = ["AuditError", "DecryptRefused"]


class AuditError(KcryptError):
    """The audit cannot run: an unreadable config, an unreachable datastore."""


class DecryptRefused(AuditError):
    """Offline decryption is read-only; a request to write is refused."""
