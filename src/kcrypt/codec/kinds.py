"""The object kinds kcrypt serves, and how their names map to each other.

One registry answers "which kind is this resource / this apiVersion+kind" for
the codec, the storage keys and the API server's discovery documents, so the
three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcrypt.codec.errors import UnsupportedKindError

__all__ = ["KINDS", "Kind", "kind_for_resource", "kind_for_type"]


@dataclass(frozen=True, slots=True)
class Kind:
    """A served resource: ``secrets`` is kind ``Secret`` in ``v1``, namespaced."""

    resource: str
    kind: str
    api_version: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


KINDS: dict[str, Kind] = {
    k.resource: k
    for k in (
        Kind("secrets", "Secret", "v1", namespaced=True, singular="secret"),
        Kind(
            "configmaps",
            "ConfigMap",
            "v1",
            namespaced=True,
            singular="configmap",
            short_names=("cm",),
        ),
        Kind(
            "namespaces",
            "Namespace",
            "v1",
            namespaced=False,
            singular="namespace",
            short_names=("ns",),
        ),
        Kind("events", "Event", "v1", namespaced=True, singular="event", short_names=("ev",)),
    )
}
"""Served resources by plural resource name."""

_BY_TYPE: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in KINDS.values()}


def kind_for_resource(resource: str) -> Kind:
    """The Kind for a plural resource name; UnsupportedKindError if not served."""
    try:
        return KINDS[resource]
    except KeyError:
        raise UnsupportedKindError("", "", resource=resource) from None


def kind_for_type(api_version: str, kind: str) -> Kind:
    """The Kind for an object's apiVersion/kind (not list kinds)."""
    try:
        return _BY_TYPE[(api_version, kind)]
    except KeyError:
        raise UnsupportedKindError(api_version, kind) from None
