"""Which provider and key a stored value claims, and which resource it belongs to.

Read off the storage key and the envelope header alone; whether the key really
opens the value is the tally's business (:mod:`kcrypt.audit.tally`).
"""

from __future__ import annotations

from typing import NamedTuple

from kcrypt.envelope import EnvelopeError, Transformer, parse_prefix
from kcrypt.envelope.provider import PrefixChain

__all__ = ["IDENTITY", "Classifier", "ValueKind", "classify", "resource_of", "writer_of"]


class ValueKind(NamedTuple):
    """(provider, key name); a tuple, so that counting millions of them hashes in C."""

    provider: str
    key: str


IDENTITY = ValueKind("identity", "")


def resource_of(key: str) -> tuple[str, str]:
    """(group, resource) of a storage key: ``/registry/secrets/ns/n`` -> ("", "secrets")."""
    parts = key.split("/", 4)
    first = parts[2] if len(parts) > 2 else ""
    if "." in first and len(parts) > 3:
        return first, parts[3]
    return "", first


def writer_of(transformer: Transformer) -> ValueKind:
    """(provider, key) that writes through ``transformer``; identity is ("identity", "")."""
    head = b""
    tf: Transformer = transformer
    while isinstance(tf, PrefixChain):
        first = tf.providers[0]
        head += first.prefix
        tf = first.transformer
    if not head:
        return IDENTITY
    found = parse_prefix(head + b"\0")
    return ValueKind(found.provider, found.key_name) if found is not None else IDENTITY


def classify(value: bytes, known_names: tuple[str, ...]) -> ValueKind:
    """The provider and key a stored value's header names (identity: plaintext)."""
    try:
        found = parse_prefix(value, known_names=known_names)
    except EnvelopeError:
        return ValueKind("unknown", "")
    if found is None:
        return IDENTITY
    return ValueKind(found.provider, found.key_name)


class Classifier:
    """:func:`classify`, fast: the envelope headers already seen (and every configured
    key's) are matched with ``startswith``, longest first -- the same answer
    ``parse_prefix`` gives for names with ``:`` -- so each value costs a few
    prefix checks instead of a parse."""

    _PROVIDERS = ("aescbc", "aesgcm", "secretbox")

    def __init__(self, known_names: tuple[str, ...]) -> None:
        self._names = known_names
        heads = [f"k8s:enc:{p}:v1:{n}:" for p in self._PROVIDERS for n in known_names]
        heads += [f"k8s:enc:kms:{v}:{n}:" for v in ("v1", "v2") for n in known_names]
        self._seen: list[tuple[bytes, ValueKind]] = []
        for head in heads:
            found = parse_prefix(head.encode() + b"\0", known_names=known_names)
            if found is not None:
                self._seen.append((head.encode(), ValueKind(found.provider, found.key_name)))
        self._seen.sort(key=lambda hk: -len(hk[0]))

    def __call__(self, value: bytes) -> ValueKind:
        if not value.startswith(b"k8s:enc:"):
            return IDENTITY
        for head, kind in self._seen:
            if value.startswith(head):
                return kind
        try:
            found = parse_prefix(value, known_names=self._names)
        except EnvelopeError:
            return ValueKind("unknown", "")
        if found is None:  # pragma: no cover - starts with k8s:enc: is never None
            return IDENTITY
        kind = ValueKind(found.provider, found.key_name)
        self._seen.append((found.prefix.encode(), kind))
        self._seen.sort(key=lambda hk: -len(hk[0]))
        return kind
