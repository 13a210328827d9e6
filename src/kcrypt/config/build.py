"""Where a configuration meets the envelope layer: one transformer chain per rule.

Mirrors ``getTransformerOverridesAndKMSPluginProbes``: each entry's providers
become envelope providers in file order, each resource string gets them
(masking refused, repeats concatenated), and a resource no rule covers gets
``encrypt_check()`` -- identity that refuses to read encrypted-looking data.
KMS plugins are not dialled here: callers pass connected clients by provider
name, which keeps this package free of network I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from kcrypt import envelope
from kcrypt.config.errors import ConfigBuildError
from kcrypt.config.model import (
    DEFAULT_KMS_CACHESIZE,
    EncryptionConfiguration,
    KeysConfiguration,
    KMSConfiguration,
    ProviderConfiguration,
)
from kcrypt.config.resolve import GroupResource, ResourceMasked, ResourceRules
from kcrypt.config.validate import NO_PROVIDER, decode_secret
from kcrypt.envelope.base import Transformer
from kcrypt.sensitive import SecretBytes

__all__ = ["KMSProviderFactory", "Transformers", "build_transformers", "kms_close_grace_period"]

BUILDING = "error while building transformers: "


class KMSProviderFactory(Protocol):
    """Makes the envelope provider of a ``kms`` entry (the server's gRPC plugins).

    Building must not dial: kube-apiserver starts when a plugin is not up yet.
    A ``ValueError`` (bad endpoint, ...) becomes upstream's probe message.
    """

    def v2(self, config: KMSConfiguration) -> envelope.Provider: ...

    def v1(self, config: KMSConfiguration) -> envelope.Provider: ...


class Transformers:
    """The transformer for each resource, as kube-apiserver's ``TransformerForResource``."""

    def __init__(self, rules: ResourceRules[envelope.Provider]) -> None:
        self._chains = {gr: envelope.Chain(providers) for gr, providers in rules.rules().items()}

    def for_resource(self, resource: str, group: str = "") -> Transformer:
        """Exact rule, then ``*.<group>``, then ``*.*``; otherwise ``encrypt_check()``."""
        for key in (
            GroupResource(group, resource),
            GroupResource(group, "*"),
            GroupResource("*", "*"),
        ):
            chain = self._chains.get(key)
            if chain is not None:
                return chain
        return envelope.encrypt_check()

    def rules(self) -> Mapping[GroupResource, Transformer]:
        return dict(self._chains)


def build_transformers(
    config: EncryptionConfiguration,
    *,
    kms_v2_clients: Mapping[str, envelope.KMSv2Client] | None = None,
    kms_v1_clients: Mapping[str, envelope.KMSv1Client] | None = None,
    kms: KMSProviderFactory | None = None,
) -> Transformers:
    """Build the chains of a *validated* config.

    KMS providers come from ``kms`` when given, else from the client mappings
    (in-process clients, tests). Errors are ConfigBuildError reading
    ``error while building transformers: ...``.
    """
    v2 = dict(kms_v2_clients or {})
    v1 = dict(kms_v1_clients or {})

    def entries() -> Iterator[tuple[Sequence[str], Sequence[envelope.Provider]]]:
        for entry in config.resources:
            yield entry.resources, [_provider(p, v2, v1, kms) for p in entry.providers]

    try:
        rules = ResourceRules.from_entries(entries())
    except (ResourceMasked, _BuildFailure) as exc:
        message = str(exc)
    else:
        return Transformers(rules)
    raise ConfigBuildError(BUILDING + message)


class _BuildFailure(Exception):
    pass


def _keys(cfg: KeysConfiguration, kind: str) -> list[envelope.Key]:
    if not cfg.keys:
        raise _BuildFailure(f"{kind} provider has no valid keys")
    for k in cfg.keys:
        if not k.name:
            raise _BuildFailure("key with invalid name provided")
        if not k.secret:
            raise _BuildFailure(f"key {k.name} has no provided secret")
    out = []
    for k in cfg.keys:
        try:
            raw = decode_secret(k.secret)
        except ValueError:
            # Upstream appends Go's base64 error, which can quote a secret byte.
            raise _BuildFailure(f"could not obtain secret for named key {k.name}") from None
        out.append(envelope.Key(k.name, SecretBytes(raw)))
    return out


def _provider(
    provider: ProviderConfiguration,
    v2: Mapping[str, envelope.KMSv2Client],
    v1: Mapping[str, envelope.KMSv1Client],
    factory: KMSProviderFactory | None = None,
) -> envelope.Provider:
    try:
        if provider.aesgcm is not None:
            return envelope.aesgcm(_keys(provider.aesgcm, "aes"))
        if provider.aescbc is not None:
            return envelope.aescbc(_keys(provider.aescbc, "aes"))
        if provider.secretbox is not None:
            return envelope.secretbox(_keys(provider.secretbox, "secretbox"))
        if provider.kms is not None:
            kms = provider.kms
            if factory is not None and kms.api_version in ("v1", "v2"):
                return _from_factory(factory, kms)
            if kms.api_version == "v2":
                if kms.name not in v2:
                    raise _BuildFailure(
                        f'could not configure KMSv2-Plugin\'s probe "{kms.name}", '
                        "error: no KMS v2 client was given for this provider"
                    )
                return envelope.kms_v2(kms.name, v2[kms.name])
            if kms.api_version == "v1":
                if kms.name not in v1:
                    raise _BuildFailure(
                        f'could not configure KMSv1-Plugin\'s probe "{kms.name}", '
                        "error: no KMS v1 client was given for this provider"
                    )
                return envelope.kms_v1(
                    kms.name, v1[kms.name], cache_size=_cache_size(kms.cachesize)
                )
            raise _BuildFailure(
                f'could not configure KMS plugin "{kms.name}", '
                f'unsupported KMS API version "{kms.api_version}"'
            )
        if provider.identity is not None:
            return envelope.identity()
    except _BuildFailure:
        raise
    except (ValueError, envelope.EnvelopeError) as exc:
        raise _BuildFailure(str(exc)) from None
    raise _BuildFailure(NO_PROVIDER)


def _cache_size(cachesize: int | None) -> int:
    """``cachesize``: left out -> 1000 (the loader defaults it), negative -> no cache."""
    return DEFAULT_KMS_CACHESIZE if cachesize is None else cachesize


def _from_factory(factory: KMSProviderFactory, kms: KMSConfiguration) -> envelope.Provider:
    version = "v2" if kms.api_version == "v2" else "v1"
    try:
        return factory.v2(kms) if version == "v2" else factory.v1(kms)
    except ValueError as exc:
        raise _BuildFailure(
            f'could not configure KMS{version}-Plugin\'s probe "{kms.name}", error: {exc}'
        ) from None


def kms_close_grace_period(config: EncryptionConfiguration) -> float:
    """Seconds to keep old transformers after a reload: ``2 x sum(v1: 2 x timeout, v2: timeout)``.

    Upstream's ``KMSCloseGracePeriod``: health checks run serially, a v1 check
    is an encrypt plus a decrypt, and the factor two is its safety margin.
    """
    total_ns = 0  # summed in nanoseconds, as Go's time.Duration, so 3 x 100ms is exactly 0.3s
    for entry in config.resources:
        for p in entry.providers:
            if p.kms is None:
                continue
            timeout_ns = round(p.kms.timeout_seconds * 1e9)
            total_ns += 2 * timeout_ns if p.kms.api_version == "v1" else timeout_ns
    return 2 * total_ns / 1e9
