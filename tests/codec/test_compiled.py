"""The generated printers return exactly what the reference walker returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcrypt.codec import ObjectDecodeError, decode_message
from kcrypt.codec.model import OBJECT_TYPES, TYPES
from kcrypt.codec.schema import to_json, walk_to_json

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
