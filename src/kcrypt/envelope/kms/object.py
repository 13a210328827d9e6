"""The KMS v2 ``EncryptedObject``: encode, decode, validate, cache key.

Validation runs on both encode and decode with upstream's messages
(``ValidateEncryptedObject``), so a value kcrypt writes is one
kube-apiserver accepts, and a damaged value is refused before the plugin
is called.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from kcrypt.envelope.errors import InvalidEncryptedObject
from kcrypt.envelope.kms.proto import kmsv2_pb2

__all__ = [
    "AES_GCM_KEY",
    "HKDF_SHA256_XNONCE_AES_GCM_SEED",
    "EncryptedObject",
    "SourceType",
    "cache_key",
    "decode",
    "encode",
    "key_id_hash",
    "validate",
    "validate_key_id",
]

EncryptedObject = kmsv2_pb2.EncryptedObject
SourceType = kmsv2_pb2.EncryptedDEKSourceType
AES_GCM_KEY = kmsv2_pb2.AES_GCM_KEY
HKDF_SHA256_XNONCE_AES_GCM_SEED = kmsv2_pb2.HKDF_SHA256_XNONCE_AES_GCM_SEED
MAX_SIZE = 1024  # encryptedDEKSource and keyID
ANNOTATIONS_MAX_SIZE = 32 * 1024

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def key_id_hash(key_id: str) -> str:
    """Upstream's ``GetHashIfNotEmpty``: key IDs are logged only as hashes."""
    if not key_id:
        return ""
    return "sha256:" + hashlib.sha256(key_id.encode()).hexdigest()


def validate_key_id(key_id: str) -> str | None:
    """The problem with ``key_id`` in upstream's words, or None."""
    if not key_id:
        return "keyID is empty"
    if len(key_id.encode()) > MAX_SIZE:
        return f"keyID is {len(key_id.encode())} bytes, which exceeds the max size of {MAX_SIZE}"
    return None


def _fqdn_errors(name: str) -> list[str]:
    """apimachinery ``IsFullyQualifiedDomainName`` for field ``annotations``."""
    if not name:
        return ["annotations: Required value"]
    host = name[:-1] if name.endswith(".") else name
    invalid = f'annotations: Invalid value: "{host}": '
    errs = []
    if len(host) > 253:
        errs.append(invalid + "must be no more than 253 characters")
    if not _SUBDOMAIN.fullmatch(host):
        errs.append(invalid + _SUBDOMAIN_MSG)
    if errs:
        return errs
    if host.count(".") < 1:
        return [invalid + "should be a domain with at least two segments separated by dots"]
    for label in host.split("."):
        if len(label) > 63:
            return [f'annotations: Invalid value: "{label}": must be no more than 63 characters']
    return []


def _aggregate(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def validate_annotations(annotations: Mapping[str, bytes]) -> str | None:
    errs: list[str] = []
    total = 0
    for key, value in annotations.items():
        errs.extend(_fqdn_errors(key))
        total += len(key.encode()) + len(value)
    if total > ANNOTATIONS_MAX_SIZE:
        errs.append(
            f"total size of annotations is {total}, which exceeds the max size of "
            f"{ANNOTATIONS_MAX_SIZE}"
        )
    return _aggregate(errs) if errs else None


def validate(obj: kmsv2_pb2.EncryptedObject) -> str | None:
    """Upstream ``ValidateEncryptedObject``: the first problem found, or None."""
    source_type = int(obj.encryptedDEKSourceType)
    if source_type not in (AES_GCM_KEY, HKDF_SHA256_XNONCE_AES_GCM_SEED):
        return f"unknown encryptedDEKSourceType: {source_type}"
    if not obj.encryptedData:
        return "encrypted data is empty"
    source = obj.encryptedDEKSource
    if not source:
        return "failed to validate encrypted DEK source: encrypted DEK source is empty"
    if len(source) > MAX_SIZE:
        return (
            "failed to validate encrypted DEK source: encrypted DEK source is "
            f"{len(source)} bytes, which exceeds the max size of {MAX_SIZE}"
        )
    if problem := validate_key_id(obj.keyID):
        return f"failed to validate key id: {problem}"
    if problem := validate_annotations(obj.annotations):
        return f"failed to validate annotations: {problem}"
    return None


def encode(obj: kmsv2_pb2.EncryptedObject, *, provider: str, storage_key: str) -> bytes:
    if problem := validate(obj):
        raise InvalidEncryptedObject(
            problem, key_name=provider, provider="kms v2", storage_key=storage_key
        )
    return bytes(obj.SerializeToString(deterministic=True))


def decode(data: bytes, *, provider: str, storage_key: str) -> kmsv2_pb2.EncryptedObject:
    """Parse and validate; the one place protobuf errors become envelope errors."""
    obj = kmsv2_pb2.EncryptedObject()
    try:
        obj.ParseFromString(data)
    except DecodeError as err:
        raise InvalidEncryptedObject(
            f"failed to decode EncryptedObject: {err}",
            key_name=provider,
            provider="kms v2",
            storage_key=storage_key,
        ) from err
    if problem := validate(obj):
        raise InvalidEncryptedObject(
            problem, key_name=provider, provider="kms v2", storage_key=storage_key
        )
    return obj


def _u16(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def cache_key(
    source_type: int, encrypted_source: bytes, key_id: str, annotations: Mapping[str, bytes]
) -> bytes:
    """SHA-256 of upstream's ``generateCacheKey`` bytes (what its DEK cache is keyed by)."""
    parts = [struct.pack(">I", source_type), _u16(encrypted_source), _u16(key_id.encode())]
    if annotations:
        parts.append(struct.pack(">I", len(annotations)))
        for name in sorted(annotations):
            parts.append(_u16(name.encode()))
            parts.append(_u16(annotations[name]))
    return hashlib.sha256(b"".join(parts)).digest()
