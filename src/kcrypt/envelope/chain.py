"""The per-resource transformer: kube-apiserver's outer prefix list."""

from __future__ import annotations

from collections.abc import Sequence

from kcrypt.envelope.errors import NoMatchingPrefix, storage_key_text
from kcrypt.envelope.provider import PrefixChain, Provider

__all__ = ["Chain"]


def _no_matching_prefix(context: bytes) -> NoMatchingPrefix:
    return NoMatchingPrefix("no matching prefix found", storage_key=storage_key_text(context))


class Chain(PrefixChain):
    """The providers of one resource, in config order.

    Writes use ``providers[0]``; reads try every provider whose prefix matches
    and report ``stale`` when the value was not read by the first one (or its
    first key), so storage rewrites it on the next update.
    ``ReadResult.prefix`` is the full matched prefix including the key name.
    """

    __slots__ = ()

    def __init__(self, providers: Sequence[Provider]) -> None:
        super().__init__(providers, no_match=_no_matching_prefix)
