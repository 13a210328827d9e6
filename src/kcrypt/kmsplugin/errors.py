"""Errors of the reference KMS plugin.

KcryptError
└── PluginError                 setup problems (no token, wrong PIN, bad key file)
    └── UnknownKeyID            a ciphertext names a key this plugin does not hold
"""

from __future__ import annotations

from kcrypt.errors import KcryptError

__all__ = ["PluginError", "UnknownKeyID"]


class PluginError(KcryptError):
    """The plugin cannot serve: its key store is missing, locked or damaged."""


class UnknownKeyID(PluginError):
    """A decrypt named a key ID this plugin does not have (never a key's bytes)."""
