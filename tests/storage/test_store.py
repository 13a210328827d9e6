"""ObjectStore on memory and SQLite with real aescbc: what a caller sees and what is stored."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from kcrypt.config import build_transformers, dump_json, generate, load
from kcrypt.datastore import Datastore
from kcrypt.storage import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    InternalError,
    NotFound,
    ObjectStore,
    Preconditions,
    TransformerRegistry,
)

KEY = "/registry/secrets/default/s1"


def secret(name: str = "s1", namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        "type": "Opaque",
    }


async def test_create_encrypts_with_the_key_as_context_and_reads_back(
    store: ObjectStore, datastore: Datastore
) -> None:
    created = await store.create("secrets", secret(password="hunter2"))
    assert created["kind"] == "Secret" and created["apiVersion"] == "v1"
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    kv = await datastore.get(KEY)
    assert kv is not None
    assert kv.value.startswith(b"k8s:enc:aescbc:v1:aescbckey:")
    assert b"hunter2" not in kv.value
    assert meta["resourceVersion"] == str(kv.mod_revision)
    got = await store.get("secrets", "s1", namespace="default")
    assert got == created


async def test_configmaps_stay_plain_protobuf_when_the_config_names_only_secrets(
    store: ObjectStore, datastore: Datastore
) -> None:
    await store.create(
        "configmaps", {"metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}}
    )
    kv = await datastore.get("/registry/configmaps/default/c")
    assert kv is not None and kv.value.startswith(b"k8s\x00")


async def test_create_twice_is_already_exists(store: ObjectStore) -> None:
    await store.create("secrets", secret())
    with pytest.raises(AlreadyExists, match='secrets "s1" already exists'):
        await store.create("secrets", secret())


async def test_missing_object_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFound, match='secrets "nope" not found'):
        await store.get("secrets", "nope", namespace="default")


async def test_generate_name_makes_a_name_with_a_random_suffix(store: ObjectStore) -> None:
    obj = secret()
    obj["metadata"] = {"generateName": "tok-", "namespace": "default"}
    created = await store.create("secrets", obj)
    assert created["metadata"]["name"].startswith("tok-")
    assert len(created["metadata"]["name"]) == len("tok-") + 5


async def test_update_with_an_old_resource_version_is_a_conflict(store: ObjectStore) -> None:
    created = await store.create("secrets", secret(a="1"))
    changed = dict(created, data={"a": base64.b64encode(b"2").decode()})
    await store.update("secrets", changed)
    with pytest.raises(Conflict) as info:
        await store.update("secrets", changed)
    assert str(info.value) == (
        'Operation cannot be fulfilled on secrets "s1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


async def test_update_without_resource_version_is_unconditional(store: ObjectStore) -> None:
    await store.create("secrets", secret(a="1"))
    blind = secret(a="2")
    updated = await store.update("secrets", blind)
    assert base64.b64decode(updated["data"]["a"]) == b"2"


async def test_update_that_changes_nothing_is_not_written(
    store: ObjectStore, datastore: Datastore
) -> None:
    created = await store.create("secrets", secret(a="1"))
    before = await datastore.revision()
    same = await store.update("secrets", created)
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert await datastore.revision() == before


@pytest.fixture
def rotated(registry: TransformerRegistry) -> Any:
    """Install config A (aescbc key ``aescbckey``); return config B, the documented
    rotation step: a new key ``newkey`` first, ``aescbckey`` still there to read."""
    first = generate("aescbc", key_name="aescbckey")
    registry.swap(build_transformers(first))
    doc = json.loads(dump_json(first))
    new = json.loads(dump_json(generate("aescbc", key_name="newkey")))
    keys = doc["resources"][0]["providers"][0]["aescbc"]["keys"]
    keys.insert(0, new["resources"][0]["providers"][0]["aescbc"]["keys"][0])
    return build_transformers(load(json.dumps(doc).encode()).config)


async def test_unchanged_update_of_a_stale_value_rewrites_it_under_the_new_write_key(
    store: ObjectStore, datastore: Datastore, registry: TransformerRegistry, rotated: Any
) -> None:
    created = await store.create("secrets", secret(a="1"))
    old = await datastore.get(KEY)
    assert old is not None and old.value.startswith(b"k8s:enc:aescbc:v1:aescbckey:")
    registry.swap(rotated)
    rewritten = await store.update("secrets", created)
    assert rewritten["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    kv = await datastore.get(KEY)
    assert kv is not None and kv.value.startswith(b"k8s:enc:aescbc:v1:newkey:")
    assert kv.value != old.value
    assert rewritten["data"] == created["data"]
    # Now current: the same unchanged update writes nothing.
    again = await store.update("secrets", rewritten)
    assert again["metadata"]["resourceVersion"] == rewritten["metadata"]["resourceVersion"]


async def test_guaranteed_update_calls_again_after_losing_a_race(store: ObjectStore) -> None:
    await store.create("secrets", secret(a="1"))
    calls: list[str] = []

    async def fn(current: dict[str, Any]) -> dict[str, Any]:
        calls.append(current["metadata"]["resourceVersion"])
        if len(calls) == 1:  # someone else writes between our read and our write
            await store.update("secrets", secret(a="other"))
        current.setdefault("metadata", {}).setdefault("labels", {})["touched"] = "yes"
        return current

    result = await store.guaranteed_update("secrets", "s1", fn, namespace="default")
    assert len(calls) == 2 and calls[0] != calls[1]
    assert result["metadata"]["labels"] == {"touched": "yes"}
    assert base64.b64decode(result["data"]["a"]) == b"other"


async def test_paged_list_is_one_snapshot_at_the_first_page_revision(store: ObjectStore) -> None:
    for i in range(5):
        await store.create("secrets", secret(f"s{i}"))
    first = await store.list("secrets", namespace="default", limit=2)
    assert [o["metadata"]["name"] for o in first.items] == ["s0", "s1"]
    assert first.continue_token
    await store.create("secrets", secret("s2a"))  # after the snapshot: must not appear
    await store.delete("secrets", "s4", namespace="default")  # still in the snapshot
    names, token = [], first.continue_token
    while token:
        page = await store.list("secrets", namespace="default", limit=2, continue_token=token)
        assert page.resource_version == first.resource_version
        names += [o["metadata"]["name"] for o in page.items]
        token = page.continue_token
    assert names == ["s2", "s3", "s4"]


async def test_all_namespaces_list_and_namespace_scoping(store: ObjectStore) -> None:
    await store.create("secrets", secret("a", "default"))
    await store.create("secrets", secret("b", "other"))
    everything = await store.list("secrets")
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in everything.items} == {
        ("default", "a"),
        ("other", "b"),
    }
    only = await store.list("secrets", namespace="other")
    assert [o["metadata"]["name"] for o in only.items] == ["b"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a"]),
        ("app==web", ["a"]),
        ("app!=web", ["b", "c"]),
        ("app in (web,db)", ["a", "b"]),
        ("app notin (web)", ["b", "c"]),
        ("app", ["a", "b"]),
        ("!app", ["c"]),
        ("app=db,tier=back", ["b"]),
        ("tier>1", []),
    ],
)
async def test_label_selectors(store: ObjectStore, selector: str, expected: list[str]) -> None:
    for name, labels in (("a", {"app": "web"}), ("b", {"app": "db", "tier": "back"}), ("c", {})):
        obj = secret(name)
        obj["metadata"]["labels"] = labels
        await store.create("secrets", obj)
    result = await store.list("secrets", namespace="default", label_selector=selector)
    assert [o["metadata"]["name"] for o in result.items] == expected


async def test_label_selector_with_limit_fills_pages_with_matches(store: ObjectStore) -> None:
    for i in range(6):
        obj = secret(f"s{i}")
        obj["metadata"]["labels"] = {"even": str(i % 2 == 0).lower()}
        await store.create("secrets", obj)
    page = await store.list("secrets", namespace="default", limit=2, label_selector="even=true")
    assert [o["metadata"]["name"] for o in page.items] == ["s0", "s2"]
    rest = await store.list(
        "secrets",
        namespace="default",
        limit=2,
        label_selector="even=true",
        continue_token=page.continue_token,
    )
    assert [o["metadata"]["name"] for o in rest.items] == ["s4"]


async def test_field_selectors(store: ObjectStore) -> None:
    await store.create("secrets", secret("a", "default"))
    await store.create("secrets", secret("b", "other"))
    by_name = await store.list("secrets", field_selector="metadata.name=b")
    assert [o["metadata"]["name"] for o in by_name.items] == ["b"]
    not_ns = await store.list("secrets", field_selector="metadata.namespace!=other")
    assert [o["metadata"]["name"] for o in not_ns.items] == ["a"]
    with pytest.raises(BadRequest, match=r"field label not supported: spec\.foo"):
        await store.list("secrets", field_selector="spec.foo=x")


async def test_malformed_selector_and_continue_token_are_bad_requests(store: ObjectStore) -> None:
    with pytest.raises(BadRequest, match="unable to parse requirement"):
        await store.list("secrets", label_selector="a in (")
    with pytest.raises(BadRequest, match="continue key is not valid"):
        await store.list("secrets", continue_token="not-a-token!")


async def test_delete_checks_preconditions_then_removes(store: ObjectStore) -> None:
    created = await store.create("secrets", secret())
    with pytest.raises(Conflict, match="Precondition failed: UID in precondition: wrong"):
        await store.delete(
            "secrets", "s1", namespace="default", preconditions=Preconditions("wrong")
        )
    deleted = await store.delete(
        "secrets",
        "s1",
        namespace="default",
        preconditions=Preconditions(uid=created["metadata"]["uid"]),
    )
    assert deleted.deleted and deleted.obj["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(NotFound):
        await store.get("secrets", "s1", namespace="default")
    with pytest.raises(NotFound):
        await store.delete("secrets", "s1", namespace="default")


async def test_dry_run_writes_nothing(store: ObjectStore, datastore: Datastore) -> None:
    before = await datastore.revision()
    out = await store.create("secrets", secret(), dry_run=True)
    assert out["metadata"]["name"] == "s1"
    assert await datastore.get(KEY) is None
    assert await datastore.revision() == before


async def test_a_value_no_configured_key_can_read_is_an_internal_error_naming_the_key(
    store: ObjectStore, registry: TransformerRegistry
) -> None:
    await store.create("secrets", secret(password="hunter2"))
    registry.swap(build_transformers(generate("aescbc", key_name="unrelated")))
    with pytest.raises(InternalError) as info:
        await store.get("secrets", "s1", namespace="default")
    assert KEY in str(info.value)
    assert "hunter2" not in str(info.value)
    registry.swap(None)  # no config at all: encrypted data is refused, not returned
    with pytest.raises(InternalError, match="identity transformer tried to read encrypted data"):
        await store.get("secrets", "s1", namespace="default")


async def test_transformation_metrics_use_kube_apiserver_names_and_prefix_labels(
    store: ObjectStore, metrics_registry: CollectorRegistry
) -> None:
    await store.create("secrets", secret())
    await store.get("secrets", "s1", namespace="default")
    await store.create(
        "configmaps", {"metadata": {"name": "c", "namespace": "default"}, "data": {}}
    )
    await store.get("configmaps", "c", namespace="default")

    def ops(resource: str, kind: str, prefix: str) -> float | None:
        return metrics_registry.get_sample_value(
            "apiserver_storage_transformation_operations_total",
            {
                "resource": resource,
                "transformation_type": kind,
                "transformer_prefix": prefix,
                "status": "OK",
            },
        )

    assert ops("secrets", "to_storage", "k8s:enc:aescbc:v1:") == 1
    assert ops("secrets", "to_storage", "aescbckey:") == 1
    assert ops("secrets", "from_storage", "k8s:enc:aescbc:v1:") == 1
    assert ops("configmaps", "to_storage", "") == 1
    assert ops("configmaps", "from_storage", "identity") == 1
    count = metrics_registry.get_sample_value(
        "apiserver_storage_transformation_duration_seconds_count",
        {"transformation_type": "from_storage", "transformer_prefix": "k8s:enc:aescbc:v1:"},
    )
    assert count == 1


async def test_finalizers_hold_a_deleted_object_until_the_last_one_is_removed(
    store: ObjectStore,
) -> None:
    obj = secret()
    obj["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    await store.create("secrets", obj)
    first = await store.delete("secrets", "s1", namespace="default")
    assert not first.deleted
    stamp = first.obj["metadata"]["deletionTimestamp"]
    assert stamp and first.obj["metadata"]["deletionGracePeriodSeconds"] == 0
    again = await store.delete("secrets", "s1", namespace="default")  # nothing changes
    assert not again.deleted
    assert again.obj["metadata"]["resourceVersion"] == first.obj["metadata"]["resourceVersion"]

    def drop(name: str) -> Any:
        def fn(current: dict[str, Any]) -> dict[str, Any]:
            current["metadata"]["finalizers"].remove(name)
            current["metadata"].pop("deletionTimestamp")  # a client cannot clear it
            return current

        return fn

    held = await store.guaranteed_update(
        "secrets", "s1", drop("example.com/a"), namespace="default"
    )
    assert held["metadata"]["deletionTimestamp"] == stamp
    assert held["metadata"]["finalizers"] == ["example.com/b"]
    await store.guaranteed_update("secrets", "s1", drop("example.com/b"), namespace="default")
    with pytest.raises(NotFound):
        await store.get("secrets", "s1", namespace="default")


async def test_creates_in_a_namespace_being_deleted_are_forbidden(store: ObjectStore) -> None:
    await store.create(
        "namespaces", {"metadata": {"name": "doomed"}, "spec": {"finalizers": ["kubernetes"]}}
    )
    marked = await store.delete(
        "namespaces",
        "doomed",
        mark=lambda ns: ns.setdefault("status", {}).update(phase="Terminating"),
    )
    assert not marked.deleted and marked.obj["status"]["phase"] == "Terminating"
    with pytest.raises(Forbidden) as refused:
        await store.namespaces.require("doomed", resource="configmaps", name="late")
    assert refused.value.message == (
        'configmaps "late" is forbidden: unable to create new content in namespace doomed '
        "because it is being terminated"
    )
    assert [c.reason for c in refused.value.causes] == ["NamespaceTerminating"]
