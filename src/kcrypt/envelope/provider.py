"""Keys, providers and the prefix dispatch every chain shares.

Upstream builds each resource's transformer as a list of
``PrefixTransformer{Prefix, Transformer}``; the local-key providers are
themselves such a list over their keys (prefix ``<keyName>:``). kcrypt keeps
that nesting so that stale flags, error aggregation and the matched prefix
come out exactly as kube-apiserver computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kcrypt.envelope.base import ReadResult, Transformer
from kcrypt.envelope.errors import AggregateError, EnvelopeError, InvalidSetup, storage_key_text
from kcrypt.sensitive import SecretBytes

__all__ = [
    "AESCBC_PREFIX",
    "AESGCM_PREFIX",
    "ENCRYPTED_MARKER",
    "KMS_V1_PREFIX",
    "KMS_V2_PREFIX",
    "SECRETBOX_PREFIX",
    "Key",
    "PrefixChain",
    "Provider",
    "leaves",
]

ENCRYPTED_MARKER = b"k8s:enc:"
AESCBC_PREFIX = b"k8s:enc:aescbc:v1:"
AESGCM_PREFIX = b"k8s:enc:aesgcm:v1:"
SECRETBOX_PREFIX = b"k8s:enc:secretbox:v1:"
KMS_V1_PREFIX = b"k8s:enc:kms:v1:"
KMS_V2_PREFIX = b"k8s:enc:kms:v2:"


@dataclass(frozen=True, slots=True)
class Key:
    """A named local key (``keys[].name`` / decoded ``keys[].secret`` of the config)."""

    name: str
    secret: SecretBytes


@dataclass(frozen=True, slots=True)
class Provider:
    """Upstream's ``PrefixTransformer``: data starting with ``prefix`` is ``transformer``'s."""

    prefix: bytes
    transformer: Transformer


class PrefixChain:
    """Upstream's ``prefixTransformers``: first entry writes, reads dispatch on prefix.

    Read order and error handling follow ``TransformFromStorage`` exactly: an
    entry with an empty prefix (identity) that fails is skipped silently, other
    failures are collected; the first success wins and is stale when it is not
    entry 0. With nothing read, collected errors are reduced (one error is
    raised as itself, several as :class:`AggregateError`); with none,
    ``no_match(context)`` is raised.
    """

    __slots__ = ("_entries", "_no_match", "providers")

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        no_match: Callable[[bytes], EnvelopeError],
    ) -> None:
        if not providers:
            raise InvalidSetup("a transformer chain needs at least one provider")
        self.providers: tuple[Provider, ...] = tuple(providers)
        self._entries = tuple(
            (p.prefix, p.prefix.decode("utf-8", "backslashreplace"), p.transformer)
            for p in self.providers
        )
        self._no_match = no_match

    @property
    def write_prefix(self) -> str:
        """The full prefix new values get (``k8s:enc:aescbc:v1:key1:``; ``""`` for identity).

        Read off the first provider at every nesting level, so nothing has to
        be encrypted to learn it (a probe would cost a KMS call)."""
        out = ""
        chain: PrefixChain | None = self
        while chain is not None:
            first = chain.providers[0]
            out += first.prefix.decode("utf-8", "backslashreplace")
            inner = first.transformer
            chain = inner if isinstance(inner, PrefixChain) else None
        return out

    def to_storage(self, plaintext: bytes, *, context: bytes) -> bytes:
        first = self.providers[0]
        return first.prefix + first.transformer.to_storage(plaintext, context=context)

    def from_storage(self, data: bytes, *, context: bytes) -> ReadResult:
        errors: list[EnvelopeError] = []
        for index, (prefix, prefix_text, transformer) in enumerate(self._entries):
            if not data.startswith(prefix):
                continue
            try:
                result = transformer.from_storage(data[len(prefix) :], context=context)
            except EnvelopeError as err:
                if prefix:
                    errors.append(err)
                continue
            return ReadResult(
                plaintext=result.plaintext,
                stale=result.stale or index != 0,
                prefix=prefix_text + result.prefix,
            )
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise AggregateError(errors, storage_key=storage_key_text(context))
        raise self._no_match(context)


def keyed_provider(
    prefix: bytes,
    keys: Sequence[Key],
    build: Callable[[Key], Transformer],
    *,
    no_match: Callable[[bytes], EnvelopeError],
) -> Provider:
    """A local-key provider: ``prefix`` over a prefix chain of ``<keyName>:`` entries."""
    if not keys:
        raise InvalidSetup(f"provider {prefix.decode()} needs at least one key")
    inner = [Provider(prefix=f"{key.name}:".encode(), transformer=build(key)) for key in keys]
    return Provider(prefix=prefix, transformer=PrefixChain(inner, no_match=no_match))


def leaves(transformer: Transformer) -> tuple[tuple[bytes, Transformer], ...]:
    """The innermost transformers of ``transformer``, each with its full prefix,
    in the order :meth:`PrefixChain.from_storage` tries them.

    A value is first handed to the first leaf whose full prefix it starts with:
    a chain tries its entries in order and descends into the first whose prefix
    matches, moving on only when nothing inside it matched or read. Callers that
    read many values at once (the audit) find a value's reader here and fall
    back to ``from_storage`` for anything that reader does not open."""
    if not isinstance(transformer, PrefixChain):
        return ((b"", transformer),)
    return tuple(
        (provider.prefix + inner, leaf)
        for provider in transformer.providers
        for inner, leaf in leaves(provider.transformer)
    )
