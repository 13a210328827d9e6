"""KMS providers: v2 (seed + HKDF, protobuf EncryptedObject) and v1 (deprecated).

The plugin is reached through :class:`KMSv2Client` / :class:`KMSv1Client`;
the gRPC clients live above the envelope layer, the fakes in ``kms.fake``.
"""

from kcrypt.envelope.kms.client import (
    KMSEncryptResponse,
    KMSStatus,
    KMSv1Client,
    KMSv2Client,
    PluginCallError,
)
from kcrypt.envelope.kms.fake import Base64KMSv1Client, Base64KMSv2Client
from kcrypt.envelope.kms.v1 import KMSv1Transformer, kms_v1
from kcrypt.envelope.kms.v2 import KeyIDObserver, KMSv2Transformer, kms_v2

__all__ = [
    "Base64KMSv1Client",
    "Base64KMSv2Client",
    "KMSEncryptResponse",
    "KMSStatus",
    "KMSv1Client",
    "KMSv1Transformer",
    "KMSv2Client",
    "KMSv2Transformer",
    "KeyIDObserver",
    "PluginCallError",
    "kms_v1",
    "kms_v2",
]
