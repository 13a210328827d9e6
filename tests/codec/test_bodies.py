"""Request bodies as kubectl sends them, fieldValidation=Strict, and garbage."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcrypt.codec import (
    KINDS,
    CodecError,
    EnvelopeError,
    InvalidObjectError,
    ObjectDecodeError,
    StrictDecodingError,
    UnsupportedKindError,
    UnsupportedMediaType,
    decode_body,
    decode_message,
    decode_storage,
    encode_storage,
    unknown_fields,
)
from kcrypt.codec.proto import core_pb2, runtime_pb2

PROTOBUF = "application/vnd.kubernetes.protobuf"
SECRETS = KINDS["secrets"]


def _kubectl_create_secret_body() -> bytes:
    """What kubectl 1.32 POSTs for `create secret generic s1 --from-literal=a=b`."""
    secret = core_pb2.Secret()
    secret.metadata.name = "s1"
    secret.metadata.namespace = "default"
    secret.metadata.creationTimestamp.SetInParent()
    secret.data["a"] = b"b"
    env = runtime_pb2.Unknown(
        typeMeta=runtime_pb2.TypeMeta(apiVersion="v1", kind="Secret"),
        raw=secret.SerializeToString(deterministic=True),
        contentEncoding="",
        contentType="",
    )
    return bytes(b"k8s\x00" + env.SerializeToString())


def test_protobuf_body_from_kubectl() -> None:
    obj = decode_body(PROTOBUF, _kubectl_create_secret_body(), expected=SECRETS, strict=True)
    assert obj == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s1", "namespace": "default", "creationTimestamp": None},
        "data": {"a": "Yg=="},
    }


def test_json_body_gets_kind_from_the_url_and_is_normalised() -> None:
    body = json.dumps({"metadata": {"name": "s2"}, "stringData": {"user": "root"}}).encode()
    obj = decode_body("application/json; charset=utf-8", body, expected=SECRETS)
    assert obj == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "s2", "creationTimestamp": None},
        "stringData": {"user": "root"},
    }


def test_json_body_of_another_kind_is_rejected() -> None:
    body = b'{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}}'
    with pytest.raises(InvalidObjectError, match="must be of type Secret"):
        decode_body("application/json", body, expected=SECRETS)


def test_strict_reports_unknown_fields_with_upstream_text() -> None:
    body = json.dumps(
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "s", "bogus": 1, "ownerReferences": [{"name": "o", "x": 1}]},
            "spec": {"foo": 1},
        }
    ).encode()
    with pytest.raises(StrictDecodingError) as e:
        decode_body("application/json", body, strict=True)
    assert str(e.value) == (
        'strict decoding error: unknown field "metadata.bogus", '
        'unknown field "metadata.ownerReferences[0].x", unknown field "spec"'
    )
    # Not strict: unknown fields are dropped, as Go's decoder does.
    assert "spec" not in decode_body("application/json", body)


def test_strict_reports_duplicate_fields() -> None:
    body = b'{"kind":"Secret","apiVersion":"v1","metadata":{"name":"a","name":"b"}}'
    with pytest.raises(StrictDecodingError, match=r'duplicate field "metadata\.name"'):
        decode_body("application/json", body, strict=True)


def test_unknown_fields_accepts_every_known_path() -> None:
    ns = {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": "n",
            "labels": {"any": "thing"},
            "managedFields": [{"fieldsV1": {"f:anything": {}}}],
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active", "conditions": [{"type": "t", "status": "s", "nope": 1}]},
    }
    assert unknown_fields(ns) == ["status.conditions[0].nope"]


def test_unsupported_media_type() -> None:
    with pytest.raises(UnsupportedMediaType, match="accepted media types include"):
        decode_body("text/plain", b"x")


@pytest.mark.parametrize(
    ("data", "error", "text"),
    [
        (b"", EnvelopeError, "empty"),
        (b"k8s:enc:aescbc:v1:key1:\x00\x01secret", EnvelopeError, "encrypted"),
        (b"k8s\x01abc", EnvelopeError, "encoding style"),
        (b"k8s\x00\xff\xff\xff", EnvelopeError, "envelope"),
        (b"k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret\x12\x03\x0a\x05x", CodecError, "Secret"),
        (b"k8s\x00\x0a\x09\x0a\x02v1\x12\x03Pod", UnsupportedKindError, "Pod"),
        (b"k8s\x00\x1a\x00", EnvelopeError, "no kind"),
        (b'{"kind": "Secret"', EnvelopeError, "not valid JSON"),
        (b' ["Secret"]', EnvelopeError, "not an object"),
        (b"{}", InvalidObjectError, "no apiVersion/kind"),
        (b"\x89PNG", EnvelopeError, "magic"),
    ],
)
def test_garbage_raises_typed_errors_without_payload(
    data: bytes, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text) as e:
        decode_storage(data)
    assert "secret" not in str(e.value).replace("Secret", "")


def test_errors_never_echo_secret_values() -> None:
    good = encode_storage(
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "s"},
            "data": {"k": "c3VwZXJzZWNyZXQ="},
        }
    )
    with pytest.raises(CodecError) as e:
        decode_message(good[:-9])
    assert "supersecret" not in str(e.value)


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_codec_errors(data: bytes) -> None:
    with contextlib.suppress(CodecError):
        decode_storage(data)


@given(st.binary(max_size=200))
def test_random_envelope_payload_raises_only_codec_errors(payload: bytes) -> None:
    header = b"k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret\x12"
    data = header + bytes([len(payload)]) + payload if len(payload) < 128 else header + payload
    try:
        obj = decode_message(data)
        obj.to_json()
        obj.to_bytes()
    except CodecError:
        pass


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "metadata",
                        "data",
                        "name",
                        "labels",
                        "type",
                        "immutable",
                        "creationTimestamp",
                        "managedFields",
                        "fieldsV1",
                        "x",
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_random_json_objects_raise_only_codec_errors(value: object) -> None:
    obj = {"kind": "Secret", "apiVersion": "v1", "metadata": value, "data": value}
    with contextlib.suppress(CodecError):
        encode_storage(obj)


def test_non_utf8_strings_print_like_go() -> None:
    """Go strings are bytes; encoding/json replaces invalid UTF-8 with U+FFFD."""
    secret = b"\x0a\x03\x0a\x01\xff" + b"\x22\x07\x0a\x01k\x12\x02\xfe\xfe"
    env = runtime_pb2.Unknown(
        typeMeta=runtime_pb2.TypeMeta(apiVersion="v1", kind="Secret"),
        raw=secret,
        contentEncoding="",
        contentType="",
    )
    data = b"k8s\x00" + env.SerializeToString()
    obj = decode_message(data)
    assert obj.to_bytes() == data
    out = obj.to_json()
    assert out["metadata"]["name"] == "\ufffd"
    assert out["stringData"] == {"k": "\ufffd\ufffd"}
    json.dumps(out)  # serialisable


def test_non_utf8_map_key_is_a_decode_error() -> None:
    env = runtime_pb2.Unknown(
        typeMeta=runtime_pb2.TypeMeta(apiVersion="v1", kind="Secret"),
        raw=b"\x12\x07\x0a\x02k\xfe\x12\x01\x01",
    )
    with pytest.raises(ObjectDecodeError, match="map key that is not UTF-8"):
        decode_storage(b"k8s\x00" + env.SerializeToString())


@given(st.binary(max_size=120))
def test_decoded_json_is_always_serialisable(payload: bytes) -> None:
    header = b"k8s\x00\x0a\x0c\x0a\x02v1\x12\x06Secret\x12" + bytes([len(payload)])
    with contextlib.suppress(CodecError):
        json.dumps(decode_storage(header + payload))
