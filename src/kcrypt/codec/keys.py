"""Storage keys, laid out exactly as kube-apiserver does.

``<prefix>/<resource>/<namespace>/<name>`` for namespaced resources and
``<prefix>/<resource>/<name>`` for cluster-scoped ones (NamespaceKeyFunc /
NoNamespaceKeyFunc in k8s.io/apiserver's generic registry), default prefix
``/registry``. The key is also the AES-GCM/KMS additional data, so a single
byte of difference makes a value undecryptable: build keys only here.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcrypt.codec.errors import InvalidKeyError
from kcrypt.codec.kinds import KINDS

__all__ = ["DEFAULT_PREFIX", "ObjectKey", "parse_storage_key", "resource_prefix", "storage_key"]

DEFAULT_PREFIX = "/registry"


@dataclass(frozen=True, slots=True)
class ObjectKey:
    """Where an object lives; ``namespace`` is None for cluster-scoped resources."""

    resource: str
    namespace: str | None
    name: str

    def key(self, *, prefix: str = DEFAULT_PREFIX) -> str:
        return storage_key(self.resource, self.namespace, self.name, prefix=prefix)


def _normalise_prefix(prefix: str) -> str:
    # kube-apiserver joins path.Join("/", prefix, ...): one leading slash, no trailing one.
    stripped = prefix.strip("/")
    return "/" + stripped if stripped else ""


def _check_segment(what: str, value: object) -> str:
    # apimachinery's path-segment rule for names (IsValidPathSegmentName) plus "non-empty".
    if not isinstance(value, str) or not value:
        raise InvalidKeyError(f"{what} must be a non-empty string")
    if value in (".", "..") or "/" in value or "%" in value:
        raise InvalidKeyError(f"{what} may not be '.' or '..' and may not contain '/' or '%'")
    return value


def _namespaced(resource: str, namespace: str | None) -> bool:
    kind = KINDS.get(resource)
    if kind is None:
        return bool(namespace)
    if kind.namespaced and not namespace:
        raise InvalidKeyError(f"{resource} are namespaced: a namespace is required")
    if not kind.namespaced and namespace:
        raise InvalidKeyError(f"{resource} are cluster-scoped: no namespace allowed")
    return kind.namespaced


def storage_key(
    resource: str, namespace: str | None, name: str, *, prefix: str = DEFAULT_PREFIX
) -> str:
    """``/registry/secrets/<ns>/<name>``, ``/registry/namespaces/<name>``."""
    _check_segment("resource", resource)
    _check_segment("name", name)
    if _namespaced(resource, namespace):
        _check_segment("namespace", namespace)
        return f"{_normalise_prefix(prefix)}/{resource}/{namespace}/{name}"
    return f"{_normalise_prefix(prefix)}/{resource}/{name}"


def resource_prefix(
    resource: str, namespace: str | None = None, *, prefix: str = DEFAULT_PREFIX
) -> str:
    """The range prefix for listing: ``/registry/secrets/`` or ``/registry/secrets/<ns>/``."""
    _check_segment("resource", resource)
    base = f"{_normalise_prefix(prefix)}/{resource}/"
    if namespace is None or namespace == "":
        return base
    kind = KINDS.get(resource)
    if kind is not None and not kind.namespaced:
        raise InvalidKeyError(f"{resource} are cluster-scoped: no namespace allowed")
    return base + _check_segment("namespace", namespace) + "/"


def parse_storage_key(key: str, *, prefix: str = DEFAULT_PREFIX) -> ObjectKey:
    """The inverse of :func:`storage_key`; InvalidKeyError for anything else."""
    base = _normalise_prefix(prefix) + "/"
    if not isinstance(key, str) or not key.startswith(base):
        raise InvalidKeyError(f"key is not under the storage prefix {base}")
    parts = key[len(base) :].split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidKeyError(f"key under {base} is not <resource>/[<namespace>/]<name>")
    resource = parts[0]
    kind = KINDS.get(resource)
    if kind is not None and kind.namespaced != (len(parts) == 3):
        scope = "<namespace>/<name>" if kind.namespaced else "<name>"
        raise InvalidKeyError(f"{resource} keys are {base}{resource}/{scope}")
    namespace = parts[1] if len(parts) == 3 else None
    parsed = ObjectKey(resource, namespace, parts[-1])
    for what, value in (("resource", resource), ("namespace", namespace), ("name", parsed.name)):
        if value is not None:
            _check_segment(what, value)
    return parsed
