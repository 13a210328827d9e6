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

Whatever derives data from the transformers (the storage read cache) pairs
it with :meth:`TransformerRegistry.snapshot`'s generation and registers with
:meth:`TransformerRegistry.on_swap` to drop it when the set changes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
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

    __slots__ = ("_listeners", "_state")

    def __init__(self, source: TransformerSource | None = None) -> None:
        # (source, generation) in one attribute: a reader gets a matching pair
        # with one load, whatever thread swaps.
        self._state: tuple[TransformerSource, int] = (
            source if source is not None else _Unconfigured(),
            0,
        )
        self._listeners: list[weakref.WeakMethod[Callable[[], None]]] = []

    @property
    def current(self) -> TransformerSource:
        return self._state[0]

    @property
    def generation(self) -> int:
        """Counts swaps (0 before the first), for status, tests and cache validity."""
        return self._state[1]

    def snapshot(self) -> tuple[TransformerSource, int]:
        """The current set and its generation, taken together."""
        return self._state

    def on_swap(self, callback: Callable[[], None]) -> None:
        """Call the bound method ``callback`` after every swap. Held weakly: a
        listener's object (an ObjectStore's cache) can go away without unregistering."""
        self._listeners.append(weakref.WeakMethod(callback))

    def swap(self, new: TransformerSource | None) -> None:
        """Install ``new`` (``None``: back to unconfigured) for every later operation.

        One attribute assignment: readers see the old set or the new one, never a mix.
        """
        self._state = (new if new is not None else _Unconfigured(), self._state[1] + 1)
        alive = []
        for ref in self._listeners:
            callback = ref()
            if callback is not None:
                callback()
                alive.append(ref)
        self._listeners = alive

    def for_resource(self, resource: str, group: str = "") -> Transformer:
        return self._state[0].for_resource(resource, group)
