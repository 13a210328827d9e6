"""What this API server serves: one table for routing, discovery and OpenAPI.

Core v1: the stored kinds (``kcrypt.codec.KINDS``: secrets, configmaps,
namespaces, events) and ``services``, which is served read-only and always
empty -- there are no Services here, but kubectl needs the resource to
exist: ``kubectl cluster-info`` lists Services in ``kube-system``, and
``kubectl get all`` expands the ``all`` category from discovery, which
upstream fills with workload kinds and Services. Secrets, configmaps and
namespaces carry no category upstream, and do not here.

Two API groups answer the access reviews kubectl asks for
(``auth can-i``, ``auth whoami``); see :mod:`kcrypt.apiserver.reviews`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcrypt.codec import KINDS

__all__ = ["CORE", "GROUPS", "Served", "Subresource", "core_resource"]

_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, slots=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Served:
    resource: str
    kind: str
    namespaced: bool
    singular: str
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    group: str = ""
    version: str = "v1"
    stored: bool = True

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _stored() -> list[Served]:
    out = []
    for kind in sorted(KINDS.values(), key=lambda k: k.resource):
        verbs = (
            _ALL_VERBS
            if kind.namespaced
            else tuple(v for v in _ALL_VERBS if v != "deletecollection")
        )
        subresources: tuple[Subresource, ...] = ()
        if kind.resource == "namespaces":
            subresources = (
                Subresource("finalize", "Namespace", ("update",)),
                Subresource("status", "Namespace", ("get", "patch", "update")),
            )
        out.append(
            Served(
                kind.resource,
                kind.kind,
                kind.namespaced,
                kind.singular,
                verbs,
                kind.short_names,
                subresources=subresources,
            )
        )
    return out


CORE: tuple[Served, ...] = (
    *_stored(),
    Served(
        "services",
        "Service",
        True,
        "service",
        ("get", "list", "watch"),
        ("svc",),
        categories=("all",),
        stored=False,
    ),
)
"""core/v1, by resource name."""

_REVIEW = ("create",)
GROUPS: dict[str, tuple[Served, ...]] = {
    "authentication.k8s.io": (
        Served(
            "selfsubjectreviews",
            "SelfSubjectReview",
            False,
            "selfsubjectreview",
            _REVIEW,
            group="authentication.k8s.io",
            stored=False,
        ),
    ),
    "authorization.k8s.io": (
        Served(
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            False,
            "selfsubjectaccessreview",
            _REVIEW,
            group="authorization.k8s.io",
            stored=False,
        ),
        Served(
            "selfsubjectrulesreviews",
            "SelfSubjectRulesReview",
            False,
            "selfsubjectrulesreview",
            _REVIEW,
            group="authorization.k8s.io",
            stored=False,
        ),
    ),
}
"""The other groups (all at v1), by group name."""


_CORE_BY_NAME = {s.resource: s for s in CORE}


def core_resource(resource: str) -> Served | None:
    return _CORE_BY_NAME.get(resource)  # on every request
