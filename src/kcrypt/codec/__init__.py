"""Kubernetes objects: JSON <-> storage protobuf (``k8s\\x00`` + runtime.Unknown), storage keys.

Pure: no I/O. See DESIGN.md (codec layer).
"""

from kcrypt.codec.errors import (
    CodecError,
    EnvelopeError,
    InvalidKeyError,
    InvalidObjectError,
    ObjectDecodeError,
    StrictDecodingError,
    UnsupportedKindError,
    UnsupportedMediaType,
)
from kcrypt.codec.keys import (
    DEFAULT_PREFIX,
    ObjectKey,
    parse_storage_key,
    resource_prefix,
    storage_key,
)
from kcrypt.codec.kinds import KINDS, Kind, kind_for_resource, kind_for_type
from kcrypt.codec.objects import (
    JSON_MEDIA_TYPE,
    PROTOBUF_MAGIC,
    PROTOBUF_MEDIA_TYPE,
    StoredObject,
    decode_body,
    decode_message,
    decode_storage,
    encode_protobuf_response,
    encode_storage,
    stored_form_error,
    unknown_fields,
)

__all__ = [
    "DEFAULT_PREFIX",
    "JSON_MEDIA_TYPE",
    "KINDS",
    "PROTOBUF_MAGIC",
    "PROTOBUF_MEDIA_TYPE",
    "CodecError",
    "EnvelopeError",
    "InvalidKeyError",
    "InvalidObjectError",
    "Kind",
    "ObjectDecodeError",
    "ObjectKey",
    "StoredObject",
    "StrictDecodingError",
    "UnsupportedKindError",
    "UnsupportedMediaType",
    "decode_body",
    "decode_message",
    "decode_storage",
    "encode_protobuf_response",
    "encode_storage",
    "kind_for_resource",
    "kind_for_type",
    "parse_storage_key",
    "resource_prefix",
    "storage_key",
    "stored_form_error",
    "unknown_fields",
]
