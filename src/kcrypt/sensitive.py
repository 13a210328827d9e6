"""Key material that cannot leak through repr, str, format or logging.

Why: a key that ends up in an exception message or a debug log is a key
that ends up in a ticket. Every place that holds raw key bytes holds them in
:class:`SecretBytes`; only :meth:`SecretBytes.reveal` gives them back.
"""

from __future__ import annotations

import hmac

__all__ = ["SecretBytes"]


class SecretBytes:
    """Opaque bytes whose text forms never show the content."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def reveal(self) -> bytes:
        """The raw bytes: call this only at the point of use (a cipher, a 0600 file)."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"SecretBytes(<{len(self._value)} bytes redacted>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("SecretBytes", len(self._value)))

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SecretBytes cannot be pickled")
