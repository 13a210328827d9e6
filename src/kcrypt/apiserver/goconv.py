"""Query-string conversions exactly as kube-apiserver's Go code makes them.

kube-apiserver decodes ``?limit=``, ``?timeoutSeconds=``, ``?watch=`` and the
other options with ``runtime.Convert_Slice_string_To_*`` (the first value
wins), which call ``strconv.ParseInt``/``ParseUint``; a failure is answered
with the raw conversion error, e.g. ``strconv.ParseInt: parsing "abc":
invalid syntax``. Booleans never fail: only ``0`` and (any case) ``false``
are false, anything else -- even an empty value -- is true.

Python's ``int()`` accepts more than Go (``" 5"``, ``"5_000"``, non-ASCII
digits) and never overflows, which is how ``?limit=`` of 25 digits used to
reach SQLite as an ``OverflowError`` and a 500.
"""

from __future__ import annotations

import re

from kcrypt.config._go import go_quote

__all__ = ["INT64_MAX", "UINT64_MAX", "ParseError", "go_bool", "parse_int", "parse_uint"]

INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
_SIGNED = re.compile(r"[+-]?[0-9]+\Z")
_UNSIGNED = re.compile(r"[0-9]+\Z")


class ParseError(ValueError):
    """``str(err)`` is Go's ``*strconv.NumError`` text."""


def _error(func: str, text: str, what: str) -> ParseError:
    return ParseError(f"strconv.{func}: parsing {go_quote(text)}: {what}")


def parse_int(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``."""
    if not _SIGNED.match(text):
        raise _error("ParseInt", text, "invalid syntax")
    value = int(text)
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise _error("ParseInt", text, "value out of range")
    return value


def parse_uint(text: str) -> int:
    """``strconv.ParseUint(text, 10, 64)`` (no sign allowed)."""
    if not _UNSIGNED.match(text):
        raise _error("ParseUint", text, "invalid syntax")
    value = int(text)
    if value > UINT64_MAX:
        raise _error("ParseUint", text, "value out of range")
    return value


def go_bool(values: list[str]) -> bool:
    """``Convert_Slice_string_To_bool``: absent is false, then only "0"/"false" are."""
    if not values:
        return False
    return not (values[0] == "0" or values[0].lower() == "false")
