"""Value transformers, byte-compatible with kube-apiserver's encryption at rest.

Pure: no files, no sockets. A resource's transformer is a :class:`Chain` of
:class:`Provider` s built by the factories below; KMS plugins are reached
through the client protocols in :mod:`kcrypt.envelope.kms`.
"""

from kcrypt.envelope.aescbc import aescbc
from kcrypt.envelope.aesgcm import aesgcm
from kcrypt.envelope.base import ManyReader, ReadResult, Transformer, WouldBlock
from kcrypt.envelope.chain import Chain
from kcrypt.envelope.errors import (
    AggregateError,
    AuthenticationFailed,
    BadPadding,
    EnvelopeError,
    IdentityRefused,
    InvalidEncryptedObject,
    InvalidKey,
    InvalidSetup,
    KMSError,
    KMSUnavailable,
    NoMatchingPrefix,
    Truncated,
    UnknownKey,
)
from kcrypt.envelope.identity import encrypt_check, identity
from kcrypt.envelope.kms import (
    Base64KMSv1Client,
    Base64KMSv2Client,
    KMSEncryptResponse,
    KMSStatus,
    KMSv1Client,
    KMSv2Client,
    PluginCallError,
    kms_v1,
    kms_v2,
)
from kcrypt.envelope.prefix import EnvelopePrefix, parse_prefix
from kcrypt.envelope.provider import Key, Provider, leaves
from kcrypt.envelope.secretbox import secretbox

__all__ = [
    "AggregateError",
    "AuthenticationFailed",
    "BadPadding",
    "Base64KMSv1Client",
    "Base64KMSv2Client",
    "Chain",
    "EnvelopeError",
    "EnvelopePrefix",
    "IdentityRefused",
    "InvalidEncryptedObject",
    "InvalidKey",
    "InvalidSetup",
    "KMSEncryptResponse",
    "KMSError",
    "KMSStatus",
    "KMSUnavailable",
    "KMSv1Client",
    "KMSv2Client",
    "Key",
    "ManyReader",
    "NoMatchingPrefix",
    "PluginCallError",
    "Provider",
    "ReadResult",
    "Transformer",
    "Truncated",
    "UnknownKey",
    "WouldBlock",
    "aescbc",
    "aesgcm",
    "encrypt_check",
    "identity",
    "kms_v1",
    "kms_v2",
    "leaves",
    "parse_prefix",
    "secretbox",
]
