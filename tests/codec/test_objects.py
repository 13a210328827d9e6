"""JSON form <-> protobuf: what the API server and kubectl see."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kcrypt.codec import (
    KINDS,
    PROTOBUF_MAGIC,
    StoredObject,
    decode_message,
    decode_storage,
    encode_protobuf_response,
    encode_storage,
    stored_form_error,
)
from kcrypt.codec.proto import core_pb2, runtime_pb2


def _secret(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": "s1",
            "namespace": "default",
            "creationTimestamp": "2024-05-01T10:00:00Z",
        },
        **extra,
    }


def _envelope(data: bytes) -> runtime_pb2.Unknown:
    assert data.startswith(PROTOBUF_MAGIC)
    env = runtime_pb2.Unknown()
    env.ParseFromString(data[4:])
    return env


def test_envelope_is_what_kube_apiserver_writes() -> None:
    data = encode_storage(_secret(data={"a": "Yg=="}, type="Opaque"))
    assert data.startswith(bytes.fromhex("6b387300 0a0c 0a027631 1206536563726574"))
    assert data.endswith(b"\x1a\x00\x22\x00")  # contentEncoding and contentType, always written
    env = _envelope(data)
    secret = core_pb2.Secret()
    secret.ParseFromString(env.raw)
    assert dict(secret.data) == {"a": b"b"}
    assert secret.type == "Opaque"
    assert secret.metadata.creationTimestamp.seconds == 1714557600


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_go_always_writes_non_pointer_fields() -> None:
    raw = _envelope(encode_storage(_secret())).raw
    # metadata: name, generateName "", namespace, selfLink "", uid "", resourceVersion "",
    # generation 0, creationTimestamp {seconds, nanos 0}; then type "" (field 3).
    meta = (
        b"\x0a\x02s1\x12\x00\x1a\x07default\x22\x00\x2a\x00\x32\x00\x38\x00"
        b"\x42\x08\x08" + _varint(1714557600) + b"\x10\x00"
    )
    assert raw == b"\x0a" + bytes([len(meta)]) + meta + b"\x1a\x00"


def test_map_keys_are_sorted_and_empty_values_written() -> None:
    obj = _secret(data={"z": "", "a": "AQ==", "m": "Ag=="})
    raw = _envelope(encode_storage(obj)).raw
    entries = [
        raw.index(b"\x12" + bytes([len(e)]) + e)
        for e in (b"\x0a\x01a\x12\x01\x01", b"\x0a\x01m\x12\x01\x02", b"\x0a\x01z\x12\x00")
    ]
    assert entries == sorted(entries)  # Go's marshaler sorts map keys
    assert raw.endswith(b"\x12\x05\x0a\x01z\x12\x00\x1a\x00")  # empty []byte still written
    assert decode_storage(encode_storage(obj))["data"] == {"a": "AQ==", "m": "Ag==", "z": ""}


def test_json_form_omits_empty_fields() -> None:
    out = decode_storage(encode_storage(_secret()))
    assert out == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": "s1",
            "namespace": "default",
            "creationTimestamp": "2024-05-01T10:00:00Z",
        },
    }


def test_zero_creation_timestamp_prints_null_like_go() -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}}
    data = encode_storage(obj)
    assert b"\x42\x00" in _envelope(data).raw  # zero metav1.Time is an empty message
    assert decode_storage(data)["metadata"] == {"name": "c", "creationTimestamp": None}


def test_namespace_always_has_spec_and_status() -> None:
    obj = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "team-a"}}
    out = decode_storage(encode_storage(obj))
    assert out["spec"] == {}
    assert out["status"] == {}
    assert "namespace" not in out["metadata"]


def test_timestamps_are_utc_seconds() -> None:
    obj = _secret()
    obj["metadata"]["creationTimestamp"] = "2024-05-01T12:00:00.987+02:00"
    out = decode_storage(encode_storage(obj))
    assert out["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"


def test_pointer_fields_kept_when_false_or_zero() -> None:
    obj = _secret(immutable=False)
    obj["metadata"]["deletionGracePeriodSeconds"] = 0
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "controller": False}
    ]
    out = decode_storage(encode_storage(obj))
    assert out["immutable"] is False
    assert out["metadata"]["deletionGracePeriodSeconds"] == 0
    assert out["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "controller": False}
    ]


def test_configmap_binary_data_and_string_data() -> None:
    obj = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "c", "namespace": "ns", "creationTimestamp": "2024-05-01T10:00:00Z"},
        "data": {"k": "v"},
        "binaryData": {"bin": base64.b64encode(b"\x00\xff").decode()},
    }
    assert decode_storage(encode_storage(obj)) == obj


def test_secret_string_data_passes_through() -> None:
    obj = _secret(stringData={"user": "root"})
    assert decode_storage(encode_storage(obj))["stringData"] == {"user": "root"}


def test_managed_fields_keep_their_raw_json() -> None:
    obj = _secret()
    fields: dict[str, object] = {"f:data": {".": {}, "f:a": {}}, "f:type": {}}
    obj["metadata"]["managedFields"] = [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": "2024-05-01T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
    ]
    data = encode_storage(obj)
    assert b'{"f:data":{".":{},"f:a":{}},"f:type":{}}' in data
    assert decode_storage(data)["metadata"]["managedFields"][0]["fieldsV1"] == fields


def _with_unknown_fields(data: bytes) -> bytes:
    """Append field 99 to the Secret and field 15 (old clusterName) to its ObjectMeta."""
    env = _envelope(data)
    secret = core_pb2.Secret()
    secret.ParseFromString(env.raw)
    meta = secret.metadata.SerializeToString() + b"\x7a\x03old"
    raw = b"\x0a" + bytes([len(meta)]) + meta
    secret.ClearField("metadata")
    raw += secret.SerializeToString(deterministic=True) + b"\x9a\x06\x02hi"  # field 99, bytes
    env.raw = raw
    return bytes(PROTOBUF_MAGIC + env.SerializeToString())


def test_unknown_fields_survive_a_round_trip() -> None:
    data = _with_unknown_fields(encode_storage(_secret(data={"a": "Yg=="}, type="Opaque")))
    obj = decode_message(data)
    assert obj.to_bytes() == data
    assert obj.to_json()["data"] == {"a": "Yg=="}
    assert "clusterName" not in obj.to_json()["metadata"]


def test_unknown_envelope_fields_survive() -> None:
    data = encode_storage(_secret()) + b"\x2a\x01x"  # Unknown field 5
    assert decode_message(data).to_bytes() == data


def test_list_response_round_trips() -> None:
    item = decode_storage(encode_storage(_secret(data={"a": "Yg=="})))
    del item["kind"], item["apiVersion"]  # list items carry no TypeMeta in API output
    lst = {
        "kind": "SecretList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "42", "continue": "abc"},
        "items": [item],
    }
    body = encode_protobuf_response(lst)
    assert _envelope(body).typeMeta.kind == "SecretList"
    assert decode_message(body).to_json() == lst
    empty = {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}}
    assert decode_message(encode_protobuf_response(empty)).to_json() == {**empty, "items": []}


def test_status_response() -> None:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "kind": "secrets"},
        "code": 404,
    }
    assert decode_message(encode_protobuf_response(status)).to_json() == status


def test_json_storage_is_read_and_normalised() -> None:
    stored = (
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "extra": 1,
                "metadata": {
                    "name": "s1",
                    "namespace": "default",
                    "creationTimestamp": "2024-05-01T10:00:00Z",
                },
            }
        )
        + "\n"
    )
    out = decode_storage(stored.encode())
    assert list(out) == ["kind", "apiVersion", "metadata", "type"]
    assert out["type"] == "Opaque"


def test_from_json_of_decoded_fixture_is_stable(k8s_fixtures: Path) -> None:
    data = (k8s_fixtures / "api-testdata" / "HEAD" / "core.v1.Namespace.pb").read_bytes()
    obj = decode_message(data)
    assert StoredObject.from_json(obj.to_json()).to_bytes() == data


def test_kinds_registry() -> None:
    assert KINDS["secrets"].kind == "Secret"
    assert KINDS["configmaps"].namespaced
    assert not KINDS["namespaces"].namespaced
    assert KINDS["secrets"].list_kind == "SecretList"


@pytest.mark.parametrize(
    ("field", "value"),
    [("data", {"a": "%%%"}), ("data", ["x"]), ("type", 3), ("immutable", "yes")],
)
def test_wrong_types_name_the_path(field: str, value: object) -> None:
    from kcrypt.codec import InvalidObjectError

    with pytest.raises(InvalidObjectError) as e:
        encode_storage(_secret(**{field: value}))
    assert e.value.path.startswith(field)
    assert "%%%" not in str(e.value)


def test_an_event_round_trips_with_microsecond_event_time_and_go_s_empty_fields() -> None:
    """core/v1 Event: ``eventTime`` keeps microseconds, a zero one prints null, and the
    two reporting fields without omitempty are always printed (k8s.io/api types.go)."""
    from kcrypt.codec import decode_storage, encode_storage

    event = {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "cm.17a", "namespace": "default"},
        "involvedObject": {"kind": "ConfigMap", "name": "cm", "namespace": "default"},
        "reason": "Tested",
        "source": {"component": "kcrypt"},
        "firstTimestamp": "2026-01-02T03:04:05Z",
        "count": 2,
        "eventTime": "2026-01-02T03:04:05.123456Z",
        "series": {"count": 2, "lastObservedTime": "2026-01-02T03:04:06.5Z"},
    }
    back = decode_storage(encode_storage(event))
    assert back["eventTime"] == "2026-01-02T03:04:05.123456Z"
    assert back["series"] == {"count": 2, "lastObservedTime": "2026-01-02T03:04:06.500000Z"}
    assert back["lastTimestamp"] is None
    assert back["reportingComponent"] == "" and back["reportingInstance"] == ""
    plain = decode_storage(encode_storage({**event, "eventTime": None, "series": None}))
    assert plain["eventTime"] is None and "series" not in plain


def test_a_cheap_look_tells_an_object_from_what_the_decoder_would_refuse() -> None:
    stored = encode_storage(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"}}
    )
    assert stored_form_error(stored) is None
    assert stored_form_error(b'{"kind":"Secret"}') is None
    assert stored_form_error(b"\x93garbage") == (
        "value does not start with the Kubernetes protobuf magic k8s\\x00"
    )
    assert stored_form_error(b"") == "empty value"
