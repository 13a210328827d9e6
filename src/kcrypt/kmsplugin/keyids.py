"""Key IDs: ``<prefix>-<n>``, n counting up, so an ID is never reused."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["key_number", "next_key_id"]


def key_number(prefix: str, key_id: str) -> int | None:
    head, sep, tail = key_id.rpartition("-")
    if not sep or head != prefix or not tail.isdigit():
        return None
    return int(tail)


def next_key_id(prefix: str, existing: Iterable[str]) -> str:
    numbers = [n for k in existing if (n := key_number(prefix, k)) is not None]
    return f"{prefix}-{max(numbers, default=0) + 1}"


def newest(prefix: str, existing: Iterable[str]) -> str:
    """The key ID with the highest number ("" when there is none)."""
    best, best_n = "", 0
    for k in existing:
        n = key_number(prefix, k)
        if n is not None and n > best_n:
            best, best_n = k, n
    return best
