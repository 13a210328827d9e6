"""The live set of transformers, swapped atomically when the config changes.

kube-apiserver rebuilds its transformers when the EncryptionConfiguration file
changes and swaps them in at once; requests already running finish with the
set they started with. :class:`TransformerRegistry` does the same: an
operation takes one snapshot with :meth:`TransformerRegistry.for_resource`
and uses it for its whole read-modify-write, so a reload in the middle can
never make one request read with one config and write with another half-way.
The default, before any config is loaded, is upstream's encrypt-check
identity for every resource: plaintext is written, and an encrypted value
read without a config is an error rather than garbage.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kcrypt.envelope import Transformer, encrypt_check

__all__ = ["TransformerRegistry", "TransformerSource"]


@runtime_checkable
class TransformerSource(Protocol):
    """What ``kcrypt.config.build_transformers`` returns: a transformer per resource."""

    def for_resource(self, resource: str, group: str = "") -> Transformer: ...


class _Unconfigured:
    """No EncryptionConfiguration: encrypt-check identity for everything."""

    __slots__ = ()

    def for_resource(self, resource: str, group: str = "") -> Transformer:
        return encrypt_check()


class TransformerRegistry:
    """Holds the current :class:`TransformerSource`; :meth:`swap` replaces it atomically."""

    __slots__ = ("_current", "_generation")

    def __init__(self, source: TransformerSource | None = None) -> None:
        self._current: TransformerSource = source if source is not None else _Unconfigured()
        self._generation = 0

    @property
    def current(self) -> TransformerSource:
        return self._current

    @property
    def generation(self) -> int:
        """Counts swaps (0 before the first), for status and tests."""
        return self._generation

    def swap(self, new: TransformerSource | None) -> None:
        """Install ``new`` (``None``: back to unconfigured) for every later operation.

        One attribute assignment: readers see the old set or the new one, never a mix.
        """
        self._current = new if new is not None else _Unconfigured()
        self._generation += 1

    def for_resource(self, resource: str, group: str = "") -> Transformer:
        return self._current.for_resource(resource, group)
