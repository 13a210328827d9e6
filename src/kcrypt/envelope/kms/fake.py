"""In-process FAKE KMS plugins for tests and demos. They protect nothing.

They mirror upstream's test plugins (apiserver
``pkg/storage/value/encrypt/envelope/testing/{v2,v1beta1}/kms_plugin_mock.go``,
``Base64Plugin``): "encryption" is base64, so values they wrap can be read
by anyone. They exist because kube-apiserver's recorded KMS v2 test data was
written by exactly this plugin, so decrypting it needs the same behaviour.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from kcrypt.envelope.kms.client import KMSEncryptResponse, KMSStatus

__all__ = ["LOCAL_KEK_ANNOTATION", "Base64KMSv1Client", "Base64KMSv2Client", "FakeKMSFailure"]

LOCAL_KEK_ANNOTATION = "local-kek.kms.kubernetes.io"


class FakeKMSFailure(Exception):
    """What the fakes raise (as a real plugin's gRPC error would surface)."""


def _b64decode(data: bytes) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise FakeKMSFailure(f"failed to decode base64 ciphertext: {err}") from err


class Base64KMSv2Client:
    """FAKE KMS v2 plugin: ciphertext = base64(plaintext), key_id "1" until changed."""

    def __init__(self, key_id: str = "1", *, version: str = "v2beta1") -> None:
        self.key_id = key_id
        self.version = version
        self.healthz = "ok"
        self.failed = False  # upstream EnterFailedState / ExitFailedState
        self.calls: dict[str, int] = {"status": 0, "encrypt": 0, "decrypt": 0}

    def update_key_id(self, key_id: str) -> None:
        """Rotate the (pretend) KEK, like upstream ``UpdateKeyID``."""
        self.key_id = key_id

    def _check(self) -> None:
        if self.failed:
            raise FakeKMSFailure("failed precondition - key disabled")

    def status(self) -> KMSStatus:
        self.calls["status"] += 1
        healthz = "failed precondition - key disabled" if self.failed else self.healthz
        return KMSStatus(version=self.version, healthz=healthz, key_id=self.key_id)

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        self.calls["encrypt"] += 1
        if not uid:
            raise FakeKMSFailure("uid is required")
        self._check()
        return KMSEncryptResponse(
            ciphertext=base64.b64encode(plaintext),
            key_id=self.key_id,
            annotations={LOCAL_KEK_ANNOTATION: b"encrypted-local-kek"},
        )

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        self.calls["decrypt"] += 1
        if not uid:
            raise FakeKMSFailure("uid is required")
        if not key_id:
            raise FakeKMSFailure("keyID is required")
        self._check()
        return _b64decode(ciphertext)


class Base64KMSv1Client:
    """FAKE KMS v1 plugin: cipher = base64(plain)."""

    def __init__(self) -> None:
        self.failed = False
        self.calls: dict[str, int] = {"encrypt": 0, "decrypt": 0}

    def encrypt(self, plain: bytes) -> bytes:
        self.calls["encrypt"] += 1
        if self.failed:
            raise FakeKMSFailure("failed precondition - key disabled")
        return base64.b64encode(plain)

    def decrypt(self, cipher: bytes) -> bytes:
        self.calls["decrypt"] += 1
        if self.failed:
            raise FakeKMSFailure("failed precondition - key disabled")
        return _b64decode(cipher)
