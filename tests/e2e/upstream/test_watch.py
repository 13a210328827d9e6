"""kubernetes/kubernetes test/e2e/apimachinery/watch.go ("Watchers"), every test.

``watch.Interface`` is a background reader of one ``watch.Watch`` stream here;
``expectEvent`` compares objects as ``apiequality.Semantic.DeepEqual`` does,
on their serialized form (so a watch event must equal what the write returned).
``NewRetryWatcher`` becomes a watch from a resourceVersion (the retry only
matters when a stream breaks, which these streams do not).
"""

from __future__ import annotations

import queue
import random
import threading
import time
from typing import Any

from kubernetes import client, watch

from .conftest import Framework, framework_for

f = framework_for("watch")

LABEL_KEY = "watch-this-configmap"
A, B = "multiple-watchers-A", "multiple-watchers-B"
FROM_RV, RESTARTED, CHANGED = (
    "from-resource-version",
    "watch-closed-and-restarted",
    "label-changed-and-restored",
)


class Watcher:
    """A watch on the namespace's configmaps, read into a queue by a thread."""

    def __init__(self, f: Framework, resource_version: str, *labels: str) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stopped = False
        self.w = watch.Watch()
        selector = f"{LABEL_KEY} in ({','.join(labels)})" if labels else None
        kwargs: dict[str, Any] = {"timeout_seconds": 300}
        if selector:
            kwargs["label_selector"] = selector
        if resource_version:
            kwargs["resource_version"] = resource_version
        self.api = f.api
        self.thread = threading.Thread(
            target=self._run, args=(f.core, f.namespace, kwargs), daemon=True
        )
        self.thread.start()

    def _run(self, core: client.CoreV1Api, ns: str, kwargs: dict[str, Any]) -> None:
        try:
            for event in self.w.stream(core.list_namespaced_config_map, ns, **kwargs):
                self.events.put(event)
        except Exception as exc:  # a stream cut by stop() ends quietly; any other end fails
            if not self.stopped:
                self.events.put({"type": "CLOSED", "object": exc})

    def stop(self) -> None:
        self.stopped = True
        self.w.stop()


def same(api: client.ApiClient, a: Any, b: Any) -> bool:
    return bool(api.sanitize_for_serialization(a) == api.sanitize_for_serialization(b))


def wait_for_event(
    w: Watcher, kind: str, obj: Any, timeout: float
) -> tuple[dict[str, Any] | None, bool]:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, False
        try:
            actual = w.events.get(timeout=left)
        except queue.Empty:
            return None, False
        assert actual["type"] != "CLOSED", f"Watch closed unexpectedly: {actual['object']}"
        if actual["type"] == kind and (obj is None or same(w.api, obj, actual["object"])):
            return actual, True


def expect_event(w: Watcher, kind: str, obj: Any = None) -> None:
    _, ok = wait_for_event(w, kind, obj, 60)
    assert ok, f"Timed out waiting for expected watch notification: {kind} {obj}"


def expect_no_event(w: Watcher, kind: str, obj: Any = None) -> None:
    event, ok = wait_for_event(w, kind, obj, 10)
    assert not ok, f"Unexpected watch notification observed: {event}"


def cm(name: str, label: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={LABEL_KEY: label}))


def update(f: Framework, name: str, mutate: Any) -> client.V1ConfigMap:
    current = f.core.read_namespaced_config_map(name, f.namespace)
    mutate(current)
    return f.core.replace_namespaced_config_map(name, f.namespace, current)


def set_data(key: str, value: str) -> Any:
    def mutate(c: client.V1ConfigMap) -> None:
        c.data = {**(c.data or {}), key: value}

    return mutate


def test_watchers_should_observe_add_update_and_delete_watch_notifications_on_configmaps(
    f: Framework,
) -> None:
    """[sig-api-machinery] Watchers should observe add, update, and delete watch notifications
    on configmaps [Conformance]"""
    ns = f.namespace
    # By("creating a watch on configmaps with label A") (and B, and A or B)
    watch_a, watch_b, watch_ab = Watcher(f, "", A), Watcher(f, "", B), Watcher(f, "", A, B)
    time.sleep(1)  # the three watch requests reach the server before the first write
    try:
        # By("creating a configmap with label A and ensuring the correct watchers observe...")
        cm_a = f.core.create_namespaced_config_map(ns, cm("e2e-watch-test-configmap-a", A))
        expect_event(watch_a, "ADDED", cm_a)
        expect_event(watch_ab, "ADDED", cm_a)
        expect_no_event(watch_b, "ADDED", cm_a)
        # By("modifying configmap A and ensuring the correct watchers observe the notification")
        cm_a = update(f, cm_a.metadata.name, set_data("mutation", "1"))
        expect_event(watch_a, "MODIFIED", cm_a)
        expect_event(watch_ab, "MODIFIED", cm_a)
        expect_no_event(watch_b, "MODIFIED", cm_a)
        # By("modifying configmap A again and ensuring the correct watchers observe ...")
        cm_a = update(f, cm_a.metadata.name, set_data("mutation", "2"))
        expect_event(watch_a, "MODIFIED", cm_a)
        expect_event(watch_ab, "MODIFIED", cm_a)
        expect_no_event(watch_b, "MODIFIED", cm_a)
        # By("deleting configmap A and ensuring the correct watchers observe the notification")
        f.core.delete_namespaced_config_map(cm_a.metadata.name, ns)
        expect_event(watch_a, "DELETED")
        expect_event(watch_ab, "DELETED")
        expect_no_event(watch_b, "DELETED")
        # By("creating a configmap with label B and ensuring the correct watchers observe ...")
        cm_b = f.core.create_namespaced_config_map(ns, cm("e2e-watch-test-configmap-b", B))
        expect_event(watch_b, "ADDED", cm_b)
        expect_event(watch_ab, "ADDED", cm_b)
        expect_no_event(watch_a, "ADDED", cm_b)
        # By("deleting configmap B and ensuring the correct watchers observe the notification")
        f.core.delete_namespaced_config_map(cm_b.metadata.name, ns)
        expect_event(watch_b, "DELETED")
        expect_event(watch_ab, "DELETED")
        expect_no_event(watch_a, "DELETED")
    finally:
        for w in (watch_a, watch_b, watch_ab):
            w.stop()


def test_watchers_should_be_able_to_start_watching_from_a_specific_resource_version(
    f: Framework,
) -> None:
    """[sig-api-machinery] Watchers should be able to start watching from a specific resource
    version [Conformance]"""
    ns = f.namespace
    # By("creating a new configmap")
    created = f.core.create_namespaced_config_map(
        ns, cm("e2e-watch-test-resource-version", FROM_RV)
    )
    name = created.metadata.name
    # By("modifying the configmap once") / ("a second time") / ("deleting the configmap")
    first = update(f, name, set_data("mutation", "1"))
    second = update(f, name, set_data("mutation", "2"))
    f.core.delete_namespaced_config_map(name, ns)
    # By("creating a watch on configmaps from the resource version returned by the first update")
    w = Watcher(f, first.metadata.resource_version, FROM_RV)
    try:
        # By("Expecting to observe notifications for all changes to the configmap after the first
        #   update")
        expect_event(w, "MODIFIED", second)
        expect_event(w, "DELETED")
    finally:
        w.stop()


def test_watchers_should_be_able_to_restart_watching_from_the_last_resource_version_observed(
    f: Framework,
) -> None:
    """[sig-api-machinery] Watchers should be able to restart watching from the last resource
    version observed by the previous watch [Conformance]"""
    ns = f.namespace
    name = "e2e-watch-test-watch-closed"
    # By("creating a watch on configmaps")
    broken = Watcher(f, "", RESTARTED)
    time.sleep(1)
    # By("creating a new configmap") / ("modifying the configmap once")
    created = f.core.create_namespaced_config_map(ns, cm(name, RESTARTED))
    update(f, name, set_data("mutation", "1"))
    # By("closing the watch once it receives two notifications")
    expect_event(broken, "ADDED", created)
    last, ok = wait_for_event(broken, "MODIFIED", None, 60)
    assert ok and last is not None, "Timed out waiting for second watch notification"
    broken.stop()
    # By("modifying the configmap a second time, while the watch is closed")
    second = update(f, name, set_data("mutation", "2"))
    # By("creating a new watch on configmaps from the last resource version observed by the first
    #   watch")
    restarted = Watcher(f, last["object"].metadata.resource_version, RESTARTED)
    try:
        # By("deleting the configmap")
        f.core.delete_namespaced_config_map(name, ns)
        # By("Expecting to observe notifications for all changes to the configmap since the first
        #   watch closed")
        expect_event(restarted, "MODIFIED", second)
        expect_event(restarted, "DELETED")
    finally:
        restarted.stop()


def test_watchers_should_observe_an_object_deletion_if_it_stops_meeting_the_selector(
    f: Framework,
) -> None:
    """[sig-api-machinery] Watchers should observe an object deletion if it stops meeting the
    requirements of the selector [Conformance]"""
    ns = f.namespace
    name = "e2e-watch-test-label-changed"
    # By("creating a watch on configmaps with a certain label")
    w = Watcher(f, "", CHANGED)
    time.sleep(1)
    try:
        # By("creating a new configmap") / ("modifying the configmap once")
        created = f.core.create_namespaced_config_map(ns, cm(name, CHANGED))
        first = update(f, name, set_data("mutation", "1"))
        # By("changing the label value of the configmap")
        update(f, name, lambda c: c.metadata.labels.update({LABEL_KEY: "wrong-value"}))
        # By("Expecting to observe a delete notification for the watched object")
        expect_event(w, "ADDED", created)
        expect_event(w, "MODIFIED", first)
        expect_event(w, "DELETED")
        # By("modifying the configmap a second time")
        second = update(f, name, set_data("mutation", "2"))
        # By("Expecting not to observe a notification because the object no longer meets the
        #   selector's requirements")
        expect_no_event(w, "MODIFIED", second)
        # By("changing the label value of the configmap back")
        restored = update(f, name, lambda c: c.metadata.labels.update({LABEL_KEY: CHANGED}))
        # By("modifying the configmap a third time")
        third = update(f, name, set_data("mutation", "3"))
        # By("deleting the configmap")
        f.core.delete_namespaced_config_map(name, ns)
        # By("Expecting to observe an add notification for the watched object when the label value
        #   was restored")
        expect_event(w, "ADDED", restored)
        expect_event(w, "MODIFIED", third)
        expect_event(w, "DELETED")
    finally:
        w.stop()


def produce_configmap_events(f: Framework, stop: threading.Event, min_wait: float) -> None:
    existing: list[int] = []
    i = 0
    while not stop.wait(min_wait):
        op = random.randrange(3) if existing else 0
        if op == 0:
            f.core.create_namespaced_config_map(
                f.namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm-{i}"))
            )
            existing.append(i)
            i += 1
        elif op == 1:
            name = f"cm-{existing[random.randrange(len(existing))]}"
            body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name))
            f.core.replace_namespaced_config_map(name, f.namespace, body)
        else:
            idx = random.randrange(len(existing))
            f.core.delete_namespaced_config_map(f"cm-{existing.pop(idx)}", f.namespace)


def next_rv(w: Watcher) -> str:
    try:
        event = w.events.get(timeout=10)
    except queue.Empty:
        raise AssertionError("timed out waiting for watch event") from None
    obj = event["object"]
    assert event["type"] != "CLOSED", f"Watch closed unexpectedly: {obj}"
    assert isinstance(obj, client.V1ConfigMap), f"expected config map, got {type(obj)}"
    return str(obj.metadata.resource_version)


def test_watchers_should_receive_events_on_concurrent_watches_in_same_order(f: Framework) -> None:
    """[sig-api-machinery] Watchers should receive events on concurrent watches in same order
    [Conformance]"""
    iterations = 100
    # By("getting a starting resourceVersion")
    resource_version = f.core.list_namespaced_config_map(f.namespace).metadata.resource_version
    # By("starting a background goroutine to produce watch events")
    stop = threading.Event()
    producer = threading.Thread(target=produce_configmap_events, args=(f, stop, 0.005))
    producer.start()
    # By("creating watches starting from each resource version of the events produced and
    # verifying they all receive resource versions in the same order")
    watchers: list[Watcher] = []
    try:
        for _ in range(iterations):
            watchers.append(Watcher(f, resource_version))
            resource_version = next_rv(watchers[0])
            for w in watchers[1:]:
                got = next_rv(w)
                assert got == resource_version, (
                    f"resource version mismatch, expected {resource_version} but got {got}"
                )
    finally:
        stop.set()
        for w in watchers:
            w.stop()
        producer.join(timeout=30)
