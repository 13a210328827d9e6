"""Async gRPC clients of the two plugin APIs, in kube-apiserver's manner.

* v2 (``/v2.KeyManagementService/...``): Status, Encrypt, Decrypt as they are.
* v1beta1: every request carries ``version: "v1beta1"``, and ``Version`` is
  asked once, before the first other call; a plugin answering another
  version is refused with upstream's message on every call until it changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from kcrypt.envelope import KMSEncryptResponse, KMSStatus, PluginCallError
from kcrypt.kms.channel import PluginChannel
from kcrypt.kms.proto import kmsv1beta1_service_pb2 as pb1
from kcrypt.kms.proto import kmsv1beta1_service_pb2_grpc as grpc1
from kcrypt.kms.proto import kmsv2_service_pb2 as pb2
from kcrypt.kms.proto import kmsv2_service_pb2_grpc as grpc2

__all__ = ["V1_API_VERSION", "GRPCKMSv1", "GRPCKMSv2"]

V1_API_VERSION = "v1beta1"
_V2 = "/v2.KeyManagementService/"
_V1 = "/v1beta1.KeyManagementService/"


class GRPCKMSv2:
    """``v2.KeyManagementService`` over ``channel``."""

    def __init__(self, channel: PluginChannel) -> None:
        self.channel = channel
        self._stub: grpc2.KeyManagementServiceStub | None = None

    def _s(self) -> grpc2.KeyManagementServiceStub:
        if self._stub is None:
            self._stub = grpc2.KeyManagementServiceStub(self.channel.channel())  # type: ignore[no-untyped-call]
        return self._stub

    async def status(self) -> KMSStatus:
        def invoke(timeout: float) -> Any:
            return self._s().Status(pb2.StatusRequest(), timeout=timeout, wait_for_ready=True)

        r: Any = await self.channel.call(_V2 + "Status", invoke)
        return KMSStatus(version=r.version, healthz=r.healthz, key_id=r.key_id)

    async def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        def invoke(timeout: float) -> Any:
            request = pb2.EncryptRequest(plaintext=plaintext, uid=uid)
            return self._s().Encrypt(request, timeout=timeout, wait_for_ready=True)

        r: Any = await self.channel.call(_V2 + "Encrypt", invoke)
        return KMSEncryptResponse(
            ciphertext=bytes(r.ciphertext), key_id=r.key_id, annotations=dict(r.annotations)
        )

    async def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        def invoke(timeout: float) -> Any:
            request = pb2.DecryptRequest(
                ciphertext=ciphertext, uid=uid, key_id=key_id, annotations=dict(annotations)
            )
            return self._s().Decrypt(request, timeout=timeout, wait_for_ready=True)

        r: Any = await self.channel.call(_V2 + "Decrypt", invoke)
        return bytes(r.plaintext)


class GRPCKMSv1:
    """``v1beta1.KeyManagementService`` over ``channel`` (deprecated upstream)."""

    def __init__(self, channel: PluginChannel) -> None:
        self.channel = channel
        self._stub: grpc1.KeyManagementServiceStub | None = None
        self._version_checked = False
        self._lock = asyncio.Lock()

    def _s(self) -> grpc1.KeyManagementServiceStub:
        if self._stub is None:
            self._stub = grpc1.KeyManagementServiceStub(self.channel.channel())  # type: ignore[no-untyped-call]
        return self._stub

    async def _check_version(self) -> None:
        if self._version_checked:
            return
        async with self._lock:
            if self._version_checked:
                return

            def invoke(timeout: float) -> Any:
                request = pb1.VersionRequest(version=V1_API_VERSION)
                return self._s().Version(request, timeout=timeout, wait_for_ready=True)

            try:
                r: Any = await self.channel.call(_V1 + "Version", invoke)
            except PluginCallError as exc:
                raise PluginCallError(
                    f"failed get version from remote KMS provider: {exc}",
                    unavailable=exc.unavailable,
                ) from None
            if r.version != V1_API_VERSION:
                raise PluginCallError(
                    f"KMS provider api version {r.version} is not supported, only "
                    f"{V1_API_VERSION} is supported now"
                )
            self._version_checked = True

    async def encrypt(self, plain: bytes) -> bytes:
        await self._check_version()

        def invoke(timeout: float) -> Any:
            request = pb1.EncryptRequest(version=V1_API_VERSION, plain=plain)
            return self._s().Encrypt(request, timeout=timeout, wait_for_ready=True)

        r: Any = await self.channel.call(_V1 + "Encrypt", invoke)
        return bytes(r.cipher)

    async def decrypt(self, cipher: bytes) -> bytes:
        await self._check_version()

        def invoke(timeout: float) -> Any:
            request = pb1.DecryptRequest(version=V1_API_VERSION, cipher=cipher)
            return self._s().Decrypt(request, timeout=timeout, wait_for_ready=True)

        r: Any = await self.channel.call(_V1 + "Decrypt", invoke)
        return bytes(r.plain)
