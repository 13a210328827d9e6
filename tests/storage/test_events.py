"""Events: stored like other objects, with a shared expiring lease; the recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrypt.datastore import Datastore
from kcrypt.storage import EventLeases, EventRecorder, InvolvedObject, NotFound, ObjectStore

NODE = InvolvedObject(kind="Node", name="node-1", uid="node-1")
AT = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


async def test_the_recorder_writes_client_go_shaped_events_in_default_for_a_node(
    store: ObjectStore,
) -> None:
    ticks = iter([AT, AT + timedelta(microseconds=1)])
    recorder = EventRecorder(
        lambda e: store.create("events", e),
        component="kcrypt",
        host="node-1",
        clock=lambda: next(ticks),
    )
    recorder.emit(NODE, reason="SecretsProgress", message="reencrypted 1000 secrets")
    recorder.emit(NODE, reason="SecretsUpdateComplete", message="reencrypted 1500 secrets")
    await recorder.close()
    events = (await store.list("events", namespace="default")).items
    assert [(e["reason"], e["message"]) for e in events] == [
        ("SecretsProgress", "reencrypted 1000 secrets"),
        ("SecretsUpdateComplete", "reencrypted 1500 secrets"),
    ]
    first = events[0]
    assert first["metadata"]["name"] == "node-1." + format(1772600767_123456000, "x")
    assert first["involvedObject"] == {
        "kind": "Node",
        "name": "node-1",
        "uid": "node-1",
        "apiVersion": "v1",
    }
    assert first["source"] == {"component": "kcrypt", "host": "node-1"}
    assert first["firstTimestamp"] == first["lastTimestamp"] == "2026-03-04T05:06:07Z"
    assert (first["count"], first["type"], first["reportingComponent"]) == (1, "Normal", "kcrypt")


async def test_a_failing_store_costs_the_event_not_the_caller(store: ObjectStore) -> None:
    async def broken(event: object) -> object:
        raise RuntimeError("datastore gone")

    recorder = EventRecorder(broken)
    recorder.emit(NODE, reason="SecretsProgress", message="x")  # must not raise
    await recorder.close()


async def test_events_are_put_with_a_lease_and_go_when_it_ends(
    store: ObjectStore, datastore: Datastore
) -> None:
    event = {
        "metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": {"kind": "ConfigMap", "name": "cm", "namespace": "default"},
        "reason": "Tested",
    }
    await store.create("events", event)
    kv = await datastore.get("/registry/events/default/e1")
    assert kv is not None and kv.lease != 0
    await datastore.revoke_lease(kv.lease)  # what expiry does after --event-ttl
    with pytest.raises(NotFound):
        await store.get("events", "e1", namespace="default")


async def test_one_lease_serves_a_minute_of_events(datastore: Datastore) -> None:
    now = [1000.0]
    leases = EventLeases(datastore, ttl=3600, clock=lambda: now[0])
    first = await leases.lease()
    now[0] += 59
    assert await leases.lease() == first
    now[0] += 2  # the shared lease would now end before a new event's hour
    assert await leases.lease() != first
