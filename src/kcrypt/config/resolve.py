"""Which entry of an EncryptionConfiguration applies to a resource.

kube-apiserver parses every resource string with ``schema.ParseGroupResource``
(split at the *first* dot), refuses a rule that an earlier ``*.<group>`` or
``*.*`` rule already covers ("masked"), concatenates the providers of a
specific resource named in several entries (earlier entry first), and at run
time looks up exact resource -> ``*.<group>`` -> ``*.*`` -> unencrypted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from kcrypt.config._go import go_quote
from kcrypt.config.errors import ConfigError

__all__ = [
    "ANY_GROUP_ANY_RESOURCE",
    "GroupResource",
    "ResourceMasked",
    "ResourceRules",
    "assign",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class GroupResource:
    group: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> GroupResource:
        """``schema.ParseGroupResource``: ``deployments.apps`` -> (apps, deployments)."""
        resource, dot, group = text.partition(".")
        return cls(group if dot else "", resource)

    def __str__(self) -> str:
        """``GroupResource.String()``."""
        return self.resource if not self.group else f"{self.resource}.{self.group}"

    def yaml_string(self) -> str:
        """``grYAMLString``: how the rule is spelled in a config file (core wildcard is ``*.``)."""
        return "*." if self.group == "" and self.resource == "*" else str(self)


ANY_GROUP_ANY_RESOURCE = GroupResource("*", "*")


class ResourceMasked(ConfigError):
    """A rule that an earlier wildcard rule makes ineffective (upstream's exact text)."""

    def __init__(self, resource: GroupResource, rule: GroupResource) -> None:
        super().__init__(
            f"resource {go_quote(resource.yaml_string())} is masked by earlier rule "
            f"{go_quote(rule.yaml_string())}"
        )
        self.resource = resource
        self.rule = rule


def assign(
    entries: Iterable[tuple[Sequence[str], Sequence[T]]],
) -> dict[GroupResource, tuple[T, ...]]:
    """Map each parsed resource to its providers, entry by entry, as upstream builds them.

    ``entries`` is consumed lazily, so a caller that builds each entry's providers
    inside the iterable gets upstream's error order (an entry's own build errors
    before its masking errors).
    """
    table: dict[GroupResource, tuple[T, ...]] = {}
    for resources, values in entries:
        for text in resources:
            gr = GroupResource.parse(text)
            group_rule = GroupResource(gr.group, "*")
            if group_rule in table:
                raise ResourceMasked(gr, group_rule)
            if ANY_GROUP_ANY_RESOURCE in table:
                raise ResourceMasked(gr, ANY_GROUP_ANY_RESOURCE)
            table[gr] = table.get(gr, ()) + tuple(values)
    return table


class ResourceRules(Generic[T]):
    """A lookup table: exact -> ``{group, "*"}`` -> ``{"*", "*"}`` -> None."""

    def __init__(self, table: Mapping[GroupResource, tuple[T, ...]]) -> None:
        self._table = dict(table)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[Sequence[str], Sequence[T]]]) -> ResourceRules[T]:
        return cls(assign(entries))

    def lookup(self, resource: str, group: str = "") -> tuple[T, ...] | None:
        for key in (
            GroupResource(group, resource),
            GroupResource(group, "*"),
            ANY_GROUP_ANY_RESOURCE,
        ):
            if key in self._table:
                return self._table[key]
        return None

    def rules(self) -> Mapping[GroupResource, tuple[T, ...]]:
        return dict(self._table)
