"""Codec errors.

    CodecError
    ├── EnvelopeError          the bytes are not a storage value kcrypt can read
    │                          (bad magic, truncated envelope, encrypted, not JSON)
    ├── UnsupportedKindError   apiVersion/kind is not one kcrypt models
    ├── ObjectDecodeError      the embedded protobuf object does not parse
    ├── InvalidObjectError     the JSON form has a wrong type or bad base64 at a path
    ├── StrictDecodingError    fieldValidation=Strict found unknown/duplicate fields
    ├── UnsupportedMediaType   a request body's Content-Type kcrypt cannot decode
    └── InvalidKeyError        a storage key or key part kcrypt will not build/parse

Messages name *what* is wrong and *where* (a JSON path, a field, an offset),
never the payload: values are often Secret data, so no bytes of the input are
ever echoed back.
"""

from __future__ import annotations

from collections.abc import Sequence

from kcrypt.errors import KcryptError

__all__ = [
    "CodecError",
    "EnvelopeError",
    "InvalidKeyError",
    "InvalidObjectError",
    "ObjectDecodeError",
    "StrictDecodingError",
    "UnsupportedKindError",
    "UnsupportedMediaType",
]


class CodecError(KcryptError):
    """Base class of every codec error."""


class EnvelopeError(CodecError):
    """The value is not a ``k8s\\x00`` protobuf envelope or a JSON object."""


class UnsupportedKindError(CodecError):
    def __init__(self, api_version: str, kind: str, *, resource: str = "") -> None:
        if resource:
            msg = f"unsupported resource {resource!r}"
        else:
            msg = f"unsupported object type: apiVersion {api_version!r}, kind {kind!r}"
        super().__init__(msg)
        self.api_version = api_version
        self.kind = kind
        self.resource = resource


class ObjectDecodeError(CodecError):
    """The envelope was fine but the object inside it is not valid protobuf."""


class InvalidObjectError(CodecError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


class StrictDecodingError(CodecError):
    """Unknown or duplicate fields under ``fieldValidation=Strict``.

    The message is kube-apiserver's: ``strict decoding error: unknown field
    "spec.foo", duplicate field "metadata.name"``.
    """

    def __init__(self, unknown: Sequence[str], duplicate: Sequence[str] = ()) -> None:
        parts = [f'unknown field "{p}"' for p in unknown]
        parts += [f'duplicate field "{p}"' for p in duplicate]
        super().__init__("strict decoding error: " + ", ".join(parts))
        self.unknown = tuple(unknown)
        self.duplicate = tuple(duplicate)


class UnsupportedMediaType(CodecError):
    def __init__(self, content_type: str, accepted: Sequence[str]) -> None:
        super().__init__(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(accepted)
        )
        self.content_type = content_type


class InvalidKeyError(CodecError):
    """A storage key that is not ``<prefix>/<resource>/[<namespace>/]<name>``."""
