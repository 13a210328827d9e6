"""The root of every error kcrypt raises on purpose.

Each layer has its own ``errors.py`` whose classes derive from
:class:`KcryptError`, so the CLI can catch one base class and print a clear
message. Messages name storage keys, key *names* and endpoints without
credentials; they never carry key material or secret values.
"""

from __future__ import annotations

__all__ = ["KcryptError"]


class KcryptError(Exception):
    """Base class for every deliberate kcrypt error."""
