"""One immutable view of a config file, built once per change and shared.

A config change is seen by the file's writer, the live transformer swap,
the re-encryption pass, ``status`` and the supervisor. Each used to parse
the bytes (and the pass even encrypted a probe value to learn the write
prefix); a :class:`ConfigSnapshot` is built once and handed to all of them:
the exact bytes, both hashes (k3s's bare hex, kube-apiserver's
``sha256:``-prefixed one), the validated model and the transformers.
It is also a ``TransformerSource``, so storage swaps it in directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kcrypt import envelope
from kcrypt.config.build import KMSProviderFactory, Transformers, build_transformers
from kcrypt.config.load import LoadedConfig, load
from kcrypt.config.model import EncryptionConfiguration
from kcrypt.config.resolve import GroupResource
from kcrypt.envelope.base import Transformer
from kcrypt.envelope.provider import PrefixChain

__all__ = ["ConfigSnapshot", "build_snapshot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigSnapshot:
    """A validated config file and its transformers (keys only inside them)."""

    loaded: LoadedConfig
    transformers: Transformers = field(repr=False)

    @property
    def data(self) -> bytes:
        """The file's exact bytes."""
        return self.loaded.raw

    @property
    def hash(self) -> str:
        """kube-apiserver's ``sha256:<hex>`` (metrics, reload)."""
        return self.loaded.hash

    @property
    def sha256(self) -> str:
        """k3s's bare hex sha256 of the file (status, server records)."""
        return self.loaded.hash.removeprefix("sha256:")

    @property
    def config(self) -> EncryptionConfiguration:
        return self.loaded.config

    def for_resource(self, resource: str, group: str = "") -> Transformer:
        return self.transformers.for_resource(resource, group)

    def rules(self) -> Mapping[GroupResource, Transformer]:
        """Every rule's chain (the KMS factory prunes providers no rule uses)."""
        return self.transformers.rules()

    def write_prefix(self, resource: str, group: str = "") -> str:
        """The envelope prefix a new value of ``resource`` gets (``""``: plaintext)."""
        chain = self.for_resource(resource, group)
        return chain.write_prefix if isinstance(chain, PrefixChain) else ""


def build_snapshot(
    data: bytes,
    *,
    source: str = "<memory>",
    reload: bool = False,
    kms_v2_clients: Mapping[str, envelope.KMSv2Client] | None = None,
    kms_v1_clients: Mapping[str, envelope.KMSv1Client] | None = None,
    kms: KMSProviderFactory | None = None,
) -> ConfigSnapshot:
    """Load, validate and build ``data`` (kube-apiserver's errors and messages);
    ``kms`` makes the KMS providers (the server's plugin connections)."""
    loaded = load(data, reload=reload, source=source)
    transformers = build_transformers(
        loaded.config, kms_v2_clients=kms_v2_clients, kms_v1_clients=kms_v1_clients, kms=kms
    )
    return ConfigSnapshot(loaded=loaded, transformers=transformers)
