"""What a key-removal proof found, and the rule it is checked against (pure).

:mod:`kcrypt.encryption.safety` reads the datastore to build a
:class:`Proof`; the controller's rules (:mod:`kcrypt.encryption.steps`)
decide from it with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kcrypt.encryption.errors import KeyInUse

__all__ = ["UNKNOWN_PREFIX", "Proof", "check_removable", "key_prefix"]

UNKNOWN_PREFIX = "k8s:enc:?"
"""Counted for values that start with ``k8s:enc:`` but have no known header."""


def key_prefix(kind: str, name: str) -> str:
    return f"k8s:enc:{kind}:v1:{name}:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Proof:
    """Which keys the values not covered by the pass use (prefix -> count).

    ``checked``: values read for the proof; ``full``: every value was read
    (no pass record to reuse).
    """

    config_hash: str
    usage: dict[str, int]
    checked: int
    full: bool


def check_removable(
    usage: dict[str, int], removed: Iterable[tuple[str, str]], *, prefix: str
) -> None:
    """Raise :class:`KeyInUse` (with counts per key) if a removed key still protects a value."""
    removed = list(removed)
    blocking = [name for kind, name in removed if usage.get(key_prefix(kind, name), 0) > 0]
    if blocking:
        raise KeyInUse(blocking, usage, prefix=prefix)
