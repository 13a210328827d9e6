"""KMS plugins for an offline audit or decrypt, at the sockets the config names.

An offline audit runs where the cluster's plugins run (a control-plane node),
so the ``unix://`` endpoints in the EncryptionConfiguration are the plugins
themselves: values under a KMS provider are opened through them exactly as the
server would (a KMS v2 DEK seed decrypted once per seed, a v1 DEK per value
with its cache). Each plugin is asked for its health once, before the scan;
one that does not answer is replaced by a stand-in whose every call fails with
that answer, so its values are reported unreadable with the reason at once
instead of each waiting out the plugin's timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from kcrypt.config import EncryptionConfiguration, KMSConfiguration
from kcrypt.envelope import KMSEncryptResponse, KMSError, KMSStatus, Provider, kms_v1, kms_v2
from kcrypt.kms import KMSProviders

__all__ = ["OfflinePlugins", "unreachable"]


class _Unreachable:
    """A KMS v2 plugin that cannot be used: every call fails with ``why``."""

    def __init__(self, why: str) -> None:
        self.why = why

    def status(self) -> KMSStatus:
        raise KMSError(self.why)

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        raise KMSError(self.why)

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        raise KMSError(self.why)


class _UnreachableV1:
    """The same for a KMS v1 plugin."""

    def __init__(self, why: str) -> None:
        self.why = why

    def encrypt(self, plain: bytes) -> bytes:
        raise KMSError(self.why)

    def decrypt(self, cipher: bytes) -> bytes:
        raise KMSError(self.why)


def unreachable(config: KMSConfiguration, why: str) -> Provider:
    """The provider of a plugin that cannot be used: every read of its values fails with ``why``."""
    if config.api_version == "v2":
        return kms_v2(config.name, _Unreachable(why))
    return kms_v1(config.name, _UnreachableV1(why))


class OfflinePlugins:
    """The ``kms`` factory of an offline audit (``config.KMSProviderFactory``).

    Call :meth:`reach` on the event loop before building, and :meth:`close`
    after; reads then happen off the loop, as the server's do.
    """

    def __init__(self) -> None:
        self._live = KMSProviders()
        self._down: dict[tuple[str, str, str], str] = {}  # (version, name, endpoint)

    async def reach(self, config: EncryptionConfiguration) -> None:
        """Ask each of ``config``'s plugins for its health, once."""
        for entry in config.resources:
            for provider in entry.providers:
                if provider.kms is not None:
                    self._provider(provider.kms)
        probes = self._live.probes()
        # all at once: each that is down costs its timeout, concurrently
        results = await asyncio.gather(*(p.check() for p in probes), return_exceptions=True)
        for probe, result in zip(probes, results, strict=True):
            if isinstance(result, KMSError):
                # the gRPC failure itself: the envelope names the provider around it
                detail = result.__cause__ or result
                self._down[(probe.api_version, probe.name, probe.endpoint)] = (
                    f"the plugin at {probe.endpoint} did not answer its health check: {detail}"
                )
            elif isinstance(result, BaseException):
                raise result

    def v2(self, config: KMSConfiguration) -> Provider:
        why = self._down.get(("v2", config.name, config.endpoint))
        return self._live.v2(config) if why is None else unreachable(config, why)

    def v1(self, config: KMSConfiguration) -> Provider:
        why = self._down.get(("v1", config.name, config.endpoint))
        return self._live.v1(config) if why is None else unreachable(config, why)

    def _provider(self, config: KMSConfiguration) -> Provider:
        return self._live.v2(config) if config.api_version == "v2" else self._live.v1(config)

    async def close(self) -> None:
        await self._live.close()
