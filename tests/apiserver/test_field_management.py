"""managedFields and server-side apply as pure functions (upstream's shapes and messages)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kcrypt.apiserver.apply import apply_patch
from kcrypt.apiserver.errors import ApiError
from kcrypt.apiserver.fieldpath import from_fields_v1, path_string, to_fields_v1
from kcrypt.apiserver.fieldwalk import compare, strip
from kcrypt.apiserver.managedfields import ignored_fields, record_update

T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:09Z"


def secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "data": dict(data),
        "type": "Opaque",
    }


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["metadata"]["managedFields"]  # type: ignore[no-any-return]


def test_a_create_records_an_update_entry_like_kubectl_create_gets() -> None:
    obj = secret(a="eA==")
    obj["metadata"]["labels"] = {"app": "x"}
    record_update(None, obj, manager="kubectl-create", resource="secrets", now=lambda: T1)
    assert entries(obj) == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:data": {".": {}, "f:a": {}},
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:type": {},
            },
        }
    ]


def test_an_update_takes_changed_fields_from_other_managers_and_drops_removed_ones() -> None:
    live = secret(a="MQ==", b="Mg==")
    record_update(None, live, manager="creator", resource="secrets", now=lambda: T1)
    new = secret(a="MQ==", c="Mw==")  # b removed, c added, a unchanged
    new["metadata"]["managedFields"] = entries(live)
    new["data"]["a"] = "OQ=="  # and a changed
    record_update(live, new, manager="editor", resource="secrets", now=lambda: T2)
    by = {e["manager"]: from_fields_v1(e["fieldsV1"]) for e in entries(new)}
    assert by["creator"] == {("f:data",), ("f:type",)}
    assert by["editor"] == {("f:data", "f:a"), ("f:data", "f:c")}
    assert [e["time"] for e in entries(new)] == [T1, T2]


def test_a_no_op_update_keeps_the_time() -> None:
    live = secret(a="MQ==")
    record_update(None, live, manager="m", resource="secrets", now=lambda: T1)
    same = secret(a="MQ==")
    same["metadata"]["managedFields"] = entries(live)
    record_update(live, same, manager="m", resource="secrets", now=lambda: T2)
    assert [e["time"] for e in entries(same)] == [T1]


def test_an_empty_list_resets_the_record_and_an_untracked_object_stays_untracked() -> None:
    live = secret(a="MQ==")
    record_update(None, live, manager="first", resource="secrets", now=lambda: T1)
    reset = secret(a="MQ==", b="Mg==")
    reset["metadata"]["managedFields"] = [{}]
    record_update(live, reset, manager="second", resource="secrets", now=lambda: T2)
    assert [e["manager"] for e in entries(reset)] == ["second"]
    untracked, changed = secret(a="MQ=="), secret(a="Mg==")
    record_update(untracked, changed, manager="x", resource="secrets", now=lambda: T2)
    assert "managedFields" not in changed["metadata"]


def test_fields_v1_round_trips_sets_and_keyed_lists_in_upstream_order() -> None:
    doc: dict[str, Any] = {
        "f:metadata": {
            "f:finalizers": {".": {}, 'v:"a.io/x"': {}},
            "f:ownerReferences": {'k:{"uid":"u1"}': {}},
        }
    }
    assert to_fields_v1(from_fields_v1(doc)) == doc
    assert path_string(("f:metadata", "f:finalizers", 'v:"a.io/x"')) == (
        '.metadata.finalizers[="a.io/x"]'
    )
    assert path_string(("f:metadata", "f:ownerReferences", 'k:{"uid":"u1"}')) == (
        '.metadata.ownerReferences[uid="u1"]'
    )


def applied(
    live: dict[str, Any] | None, config: dict[str, Any], manager: str, *, force: bool = False
) -> dict[str, Any]:
    return apply_patch(
        live, config, manager=manager, force=force, resource="secrets", now=lambda: T2
    )


def test_apply_creates_then_conflicts_with_another_manager_then_force_takes_the_field() -> None:
    first = applied(None, secret(a="MQ=="), "alice")
    assert entries(first)[0]["operation"] == "Apply" and entries(first)[0]["manager"] == "alice"
    shared = applied(first, secret(a="MQ=="), "bob")  # same value: shared, no conflict
    assert {e["manager"] for e in entries(shared)} == {"alice", "bob"}
    with pytest.raises(ApiError) as conflict:
        applied(shared, secret(a="Mg=="), "carol")
    assert conflict.value.code == 409
    assert conflict.value.message == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n- .data.a\n'
        'conflicts with "bob":\n- .data.a'
    )
    assert conflict.value.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "alice"',
                "field": ".data.a",
            },
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "bob"',
                "field": ".data.a",
            },
        ]
    }
    forced = applied(shared, secret(a="Mg=="), "carol", force=True)
    assert forced["data"]["a"] == "Mg=="
    owners = {e["manager"]: from_fields_v1(e["fieldsV1"]) for e in entries(forced)}
    assert ("f:data", "f:a") in owners["carol"]
    assert all(("f:data", "f:a") not in f for m, f in owners.items() if m != "carol")


def test_an_update_manager_conflict_names_its_version() -> None:
    live = secret(a="MQ==")
    record_update(None, live, manager="kubectl-edit", resource="secrets", now=lambda: T1)
    with pytest.raises(ApiError, match=r'conflict with "kubectl-edit" using v1: \.data\.a$'):
        applied(live, secret(a="Mg=="), "kubectl")


def test_apply_prunes_what_the_manager_stopped_applying_unless_someone_else_owns_it() -> None:
    one = applied(None, secret(a="MQ==", b="Mg=="), "alice")
    two = applied(one, secret(b="Mg=="), "bob")
    pruned = applied(two, secret(), "alice")  # alice stops applying a and b
    assert pruned["data"] == {"b": "Mg=="}  # a: only alice had it; b: bob still applies it


CREATED = [
    secret(a="eA==", b="eQ=="),
    {**secret(), "data": {}, "stringData": None},
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1"}, "annotations": {}, "generateName": "c-"},
        "data": {"k": "v"},
        "binaryData": {"b": "eA=="},
        "immutable": True,
    },
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "n", "finalizers": ["example.com/x"]},  # a set: the general walk
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "n", "labels": {"kubernetes.io/metadata.name": "n"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
]


@pytest.mark.parametrize("obj", CREATED, ids=lambda o: f"{o['kind']}-{sorted(o)}")
def test_a_create_records_what_the_general_walk_records(obj: dict[str, Any]) -> None:
    """A plain create takes a one-walk shortcut; it records exactly what comparing the
    object with nothing records (the walk every other write takes)."""
    resource = obj["kind"].lower() + "s"
    created = json.loads(json.dumps(obj))
    record_update(None, created, manager="m", resource=resource, now=lambda: T1)
    general = json.loads(json.dumps(obj))
    ignored = ignored_fields(resource, "")
    fields = strip(compare({}, general)[0], ignored=ignored)
    assert entries(created) == [
        {
            "manager": "m",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(fields),
        }
    ]
    # FieldsV1 is printed as is: the same key order too
    assert json.dumps(entries(created)[0]["fieldsV1"]) == json.dumps(to_fields_v1(fields))
