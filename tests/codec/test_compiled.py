"""The generated printers and readers do exactly what the reference walkers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcrypt.codec import InvalidObjectError, ObjectDecodeError, decode_message
from kcrypt.codec.model import OBJECT_TYPES, TYPES
from kcrypt.codec.schema import from_json, to_json, walk_from_json, walk_to_json

VERSIONS = ("HEAD", "v1.33.0", "v1.36.0")
CASES = [(v, k) for v in VERSIONS for k in ("Secret", "ConfigMap", "Namespace")]


def _pb(fixtures: Path, version: str, kind: str) -> bytes:
    return (fixtures / "api-testdata" / version / f"core.v1.{kind}.pb").read_bytes()


def _same(a: object, b: object) -> None:
    assert a == b
    assert json.dumps(a) == json.dumps(b)  # same key order too


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_every_fixture_prints_the_same(k8s_fixtures: Path, version: str, kind: str) -> None:
    """The api-testdata fixtures set every field, lists and maps included."""
    obj = decode_message(_pb(k8s_fixtures, version, kind))
    _same(to_json(obj.message, obj.info.schema), walk_to_json(obj.message, obj.info.schema))


@pytest.mark.parametrize("info", sorted({*TYPES.values(), *OBJECT_TYPES.values()}, key=repr))
def test_empty_messages_print_the_same(info: object) -> None:
    """Zero values: which fields omitempty drops and which always print (null times)."""
    message = info.message()  # type: ignore[attr-defined]
    schema = info.schema  # type: ignore[attr-defined]
    _same(to_json(message, schema), walk_to_json(message, schema))


def test_bad_values_fail_the_same_way(k8s_fixtures: Path) -> None:
    obj = decode_message(_pb(k8s_fixtures, "HEAD", "Secret"))
    message = obj.message
    entry = message.metadata.managedFields[0]
    entry.fieldsV1.Raw = b"{not json"
    with pytest.raises(ObjectDecodeError) as compiled:
        to_json(message, obj.info.schema)
    with pytest.raises(ObjectDecodeError) as walked:
        walk_to_json(message, obj.info.schema)
    assert str(compiled.value) == str(walked.value)
    assert "metadata.managedFields[0].fieldsV1" in str(compiled.value)


# -- JSON -> protobuf ----------------------------------------------------------------------


def _read_both(obj: object, info: object) -> tuple[bytes, bytes]:
    compiled, walked = info.message(), info.message()  # type: ignore[attr-defined]
    from_json(obj, compiled, info.schema)  # type: ignore[attr-defined]
    walk_from_json(obj, walked, info.schema)  # type: ignore[attr-defined]
    return (
        compiled.SerializeToString(deterministic=True),
        walked.SerializeToString(deterministic=True),
    )


@pytest.mark.parametrize(("version", "kind"), CASES)
def test_every_fixture_reads_back_the_same(k8s_fixtures: Path, version: str, kind: str) -> None:
    obj = decode_message(_pb(k8s_fixtures, version, kind))
    compiled, walked = _read_both(obj.to_json(), obj.info)
    assert compiled == walked
    assert compiled == obj.message.SerializeToString(deterministic=True)


@pytest.mark.parametrize("info", sorted({*TYPES.values(), *OBJECT_TYPES.values()}, key=repr))
def test_empty_objects_read_the_same(info: object) -> None:
    """Absent fields: non-pointer scalars and structs are still set (proto2 presence)."""
    compiled, walked = _read_both({}, info)
    assert compiled == walked


BAD = [
    ("metadata", "x", "metadata: expected an object, got string"),
    ("metadata.name", 1, "metadata.name: expected a string, got number"),
    ("metadata.generation", "1", "metadata.generation: expected an integer, got string"),
    ("metadata.generation", True, "metadata.generation: expected an integer, got boolean"),
    ("metadata.generation", 2**64, "metadata.generation: invalid value for a integer field"),
    ("metadata.labels", [], "metadata.labels: expected an object, got array"),
    ("metadata.labels", {"a": 1}, "metadata.labels[a]: expected a string, got number"),
    ("metadata.finalizers", ["a", 2], "metadata.finalizers[1]: expected a string, got number"),
    ("metadata.creationTimestamp", "yesterday", "metadata.creationTimestamp: timestamp is not"),
    ("metadata.creationTimestamp", 5, "metadata.creationTimestamp: expected an RFC3339"),
    ("metadata.ownerReferences", {}, "metadata.ownerReferences: expected an array, got object"),
    ("metadata.ownerReferences", [{"controller": "y"}], "ownerReferences[0].controller: expec"),
    ("metadata.managedFields", [{"fieldsV1": float("nan")}], "fieldsV1: invalid value for a raw"),
    ("data", {"k": "not base64!"}, "data[k]: illegal base64 data"),
    ("immutable", "yes", "immutable: expected a boolean, got string"),
]


@pytest.mark.parametrize(("where", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_refused_the_same_way(where: str, value: object, message: str) -> None:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    *parents, last = where.split(".")
    node = obj
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    info = OBJECT_TYPES[("v1", "Secret")]
    with pytest.raises(InvalidObjectError) as compiled:
        from_json(obj, info.message(), info.schema)
    with pytest.raises(InvalidObjectError) as walked:
        walk_from_json(obj, info.message(), info.schema)
    assert str(compiled.value) == str(walked.value)
    assert message in str(compiled.value)
