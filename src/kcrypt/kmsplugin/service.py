"""The plugin's gRPC services: KMS v2 and v1beta1 over one backend.

v2 (``/v2.KeyManagementService/...``): ``Status`` re-reads the key store
(so a key another process added becomes current) and answers
``{version: "v2", healthz: "ok", key_id: <current>}``; ``Encrypt`` returns
the current key ID, which is what ``Status`` said unless a rotation came in
between (kube-apiserver then retries); ``Decrypt`` uses the key the request
names. v1beta1 has no key ID in its messages, so its ciphertext carries it:
``u8 len || key_id || backend ciphertext``.

Every call is logged at debug level with its method, uid and key ID -- never
plaintext, DEKs, ciphertext or the PIN. Failures are gRPC errors whose text
names the problem (unknown key ID, bad ciphertext), nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from kcrypt.kms.proto import kmsv1beta1_service_pb2 as pb1
from kcrypt.kms.proto import kmsv1beta1_service_pb2_grpc as grpc1
from kcrypt.kms.proto import kmsv2_service_pb2 as pb2
from kcrypt.kms.proto import kmsv2_service_pb2_grpc as grpc2
from kcrypt.kmsplugin.backend import Backend
from kcrypt.kmsplugin.errors import PluginError, UnknownKeyID

__all__ = ["CallCounts", "V1Service", "V2Service"]

log = logging.getLogger("kcrypt.kmsplugin")

V1_VERSION = "v1beta1"
RUNTIME_NAME = "kcrypt-kms-plugin"


class CallCounts:
    """Calls per method, for the plugin's own log line at shutdown and for tests."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, method: str) -> None:
        self.counts[method] = self.counts.get(method, 0) + 1


T = TypeVar("T")


async def _answer(context: Any, call: Callable[[], T]) -> T:
    """``call()``; a backend refusal becomes the gRPC status a caller can act on."""
    try:
        return call()
    except UnknownKeyID as exc:
        await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
    except PluginError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    raise AssertionError("context.abort raises")


class V2Service(grpc2.KeyManagementServiceServicer):
    def __init__(self, backend: Backend, counts: CallCounts, *, version: str = "v2") -> None:
        self.backend = backend
        self.counts = counts
        self.version = version

    async def Status(self, request: Any, context: Any) -> Any:
        self.counts.add("v2.Status")
        try:
            self.backend.refresh()
        except PluginError as exc:
            return pb2.StatusResponse(version=self.version, healthz=str(exc), key_id="")
        key_id = self.backend.current_key_id()
        return pb2.StatusResponse(version=self.version, healthz="ok", key_id=key_id)

    async def Encrypt(self, request: Any, context: Any) -> Any:
        self.counts.add("v2.Encrypt")
        ciphertext, key_id = await _answer(
            context, lambda: self.backend.encrypt(bytes(request.plaintext))
        )
        log.debug("v2 Encrypt uid=%s key_id=%s", request.uid, key_id)
        return pb2.EncryptResponse(ciphertext=ciphertext, key_id=key_id)

    async def Decrypt(self, request: Any, context: Any) -> Any:
        self.counts.add("v2.Decrypt")
        log.debug("v2 Decrypt uid=%s key_id=%s", request.uid, request.key_id)
        plaintext = await _answer(
            context, lambda: self.backend.decrypt(bytes(request.ciphertext), request.key_id)
        )
        return pb2.DecryptResponse(plaintext=plaintext)


class V1Service(grpc1.KeyManagementServiceServicer):
    def __init__(self, backend: Backend, counts: CallCounts, *, version: str = V1_VERSION) -> None:
        self.backend = backend
        self.counts = counts
        self.version = version

    async def Version(self, request: Any, context: Any) -> Any:
        self.counts.add("v1beta1.Version")
        return pb1.VersionResponse(
            version=self.version, runtime_name=RUNTIME_NAME, runtime_version="0.1.0"
        )

    async def Encrypt(self, request: Any, context: Any) -> Any:
        self.counts.add("v1beta1.Encrypt")
        ciphertext, key_id = await _answer(
            context, lambda: self.backend.encrypt(bytes(request.plain))
        )
        log.debug("v1beta1 Encrypt key_id=%s", key_id)
        raw = key_id.encode()
        return pb1.EncryptResponse(cipher=bytes([len(raw)]) + raw + ciphertext)

    async def Decrypt(self, request: Any, context: Any) -> Any:
        self.counts.add("v1beta1.Decrypt")
        cipher = bytes(request.cipher)
        size = cipher[0] if cipher else 0
        key_id = cipher[1 : 1 + size].decode("utf-8", "replace")
        log.debug("v1beta1 Decrypt key_id=%s", key_id)

        def decrypt() -> bytes:
            if not cipher or len(cipher) < 1 + size:
                raise PluginError("malformed v1 ciphertext")
            return self.backend.decrypt(cipher[1 + size :], key_id)

        plain = await _answer(context, decrypt)
        return pb1.DecryptResponse(plain=plain)
