"""kubernetes/kubernetes test/e2e/apimachinery/namespace.go, the tests that need no pods.

Not ported: "should ensure that all pods are removed when a namespace is
deleted" and "namespace deletion should delete pod first" (they run pods).
"should ensure that all services are removed when a namespace is deleted"
creates a Service, a kind kcrypt does not store; it is ported with the same
steps and asserts on a ConfigMap, the namespaced kind kcrypt does store (and
without "Waiting for a default service account", which kcrypt has none of).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .conftest import Framework, framework_for

f = framework_for("namespaces")


def poll(interval: float, timeout: float, condition: Callable[[], bool]) -> None:
    """``wait.Poll``: the condition, every ``interval`` seconds, for at most ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(interval)
        if condition():
            return
        assert time.monotonic() < deadline, "timed out waiting for the condition"


def gone(f: Framework, name: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            f.core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return False

    return check


def test_namespaces_should_ensure_that_all_services_are_removed_when_a_namespace_is_deleted(
    f: Framework,
) -> None:
    """[sig-api-machinery] Namespaces [Serial] should ensure that all services are removed when
    a namespace is deleted [Conformance] (a ConfigMap in place of the Service, see above)"""
    # By("Creating a test namespace")
    namespace = f.create_namespace("nsdeletetest")
    # By("Creating a service in the namespace") -- a configmap here
    cm = f.core.create_namespaced_config_map(
        namespace.metadata.name,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="test-service", labels={"foo": "bar", "baz": "blah"}),
            data={"port": "80"},
        ),
    )
    # By("Deleting the namespace")
    f.core.delete_namespace(namespace.metadata.name)
    # By("Waiting for the namespace to be removed.")
    poll(1, 60, gone(f, namespace.metadata.name))
    # By("Recreating the namespace")
    f.core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace.metadata.name))
    )
    try:
        # By("Verifying there is no service in the namespace")
        with pytest.raises(ApiException):
            f.core.read_namespaced_config_map(cm.metadata.name, namespace.metadata.name)
    finally:
        f.core.delete_namespace(namespace.metadata.name)


def extinguish(f: Framework, total: int, max_allowed_after_del: int, max_seconds: int) -> None:
    # By("Creating testing namespaces")
    for n in range(total):
        f.core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=f"nslifetest-{n}"))
        )
    # By("Waiting 10 seconds")
    time.sleep(10)
    deleted = []
    for ns in f.core.list_namespace().items:  # framework.DeleteNamespaces(..., "nslifetest")
        if "nslifetest" in ns.metadata.name:
            f.core.delete_namespace(ns.metadata.name)
            deleted.append(ns.metadata.name)
    assert len(deleted) == total
    # By("Waiting for namespaces to vanish")

    def few_left() -> bool:
        left = [n for n in f.core.list_namespace().items if "nslifetest" in n.metadata.name]
        return len(left) <= max_allowed_after_del

    poll(2, max_seconds, few_left)


def test_namespaces_should_delete_fast_enough_90_percent_of_100_namespaces_in_150_seconds(
    f: Framework,
) -> None:
    """[sig-api-machinery] Namespaces [Serial] should delete fast enough (90 percent of 100
    namespaces in 150 seconds)"""
    extinguish(f, 100, 10, 150)


def test_namespaces_should_always_delete_fast_all_of_100_namespaces_in_150_seconds(
    f: Framework,
) -> None:
    """[sig-api-machinery] Namespaces [Serial] should always delete fast (ALL of 100 namespaces
    in 150 seconds) [Feature:ComprehensiveNamespaceDraining]"""
    extinguish(f, 100, 0, 150)


def test_namespaces_should_patch_a_namespace(f: Framework) -> None:
    """[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]"""
    # By("creating a Namespace")
    ns = f.create_namespace(f"nspatchtest-{uuid.uuid4()}")
    name = ns.metadata.name
    assert ns.metadata.resource_version
    try:
        # By("patching the Namespace")
        patched = f.core.patch_namespace(name, {"metadata": {"labels": {"testLabel": "testValue"}}})
        assert int(ns.metadata.resource_version) < int(patched.metadata.resource_version), (
            "patched object should have a larger resource version"
        )
        # By("get the Namespace and ensuring it has the label")
        namespace = f.core.read_namespace(name)
        assert namespace.metadata.labels["testLabel"] == "testValue", "namespace not patched"
    finally:
        f.core.delete_namespace(name)


def test_namespaces_should_apply_changes_to_a_namespace_status(f: Framework) -> None:
    """[sig-api-machinery] Namespaces [Serial] should apply changes to a namespace status
    [Conformance]"""
    ns = f.namespace
    # By("Read namespace status")
    status = f.core.read_namespace_status(ns)
    assert status.status.phase == "Active", f"The phase returned was {status.status.phase}"
    # By("Patch namespace status")
    condition = {
        "type": "StatusPatch",
        "status": "True",
        "reason": "E2E",
        "message": "Patched by an e2e test",
    }
    patched = f.core.patch_namespace_status(
        ns,
        {
            "metadata": {"annotations": {"e2e-patched-ns-status": ns}},
            "status": {"conditions": [condition]},
        },
    )
    assert patched.metadata.annotations["e2e-patched-ns-status"] == ns
    assert patched.status.conditions[-1].reason == "E2E"
    assert patched.status.conditions[-1].message == "Patched by an e2e test"
    # By("Update namespace status")
    to_update = f.core.read_namespace_status(ns)
    to_update.status.conditions.append(
        client.V1NamespaceCondition(
            type="StatusUpdate", status="True", reason="E2E", message="Updated by an e2e test"
        )
    )
    updated = f.core.replace_namespace_status(ns, to_update)
    assert updated.status.conditions[-1].type == "StatusUpdate"
    assert updated.status.conditions[-1].message == "Updated by an e2e test"


def test_namespaces_should_apply_an_update_to_a_namespace(f: Framework) -> None:
    """[sig-api-machinery] Namespaces [Serial] should apply an update to a Namespace
    [Conformance]"""
    ns = f.namespace
    # By("Updating Namespace ...")
    updated = f.core.read_namespace(ns)
    updated.metadata.labels[ns] = "updated"
    updated = f.core.replace_namespace(ns, updated)
    assert updated.metadata.labels[ns] == "updated"


def test_namespaces_should_apply_a_finalizer_to_a_namespace(f: Framework) -> None:
    """[sig-api-machinery] Namespaces [Serial] should apply a finalizer to a Namespace
    [Conformance]"""
    fake = "e2e.example.com/fakeFinalizer"
    # By("Creating namespace ...")
    ns = f.create_namespace("e2e-ns").metadata.name
    try:
        # By("Adding e2e finalizer to namespace ...")
        to_update = f.core.read_namespace(ns)
        to_update.spec.finalizers.append(fake)
        updated = f.core.replace_namespace_finalize(ns, to_update)
        assert fake in updated.spec.finalizers, f"Finalizer {fake} was not found"
        # By("Removing e2e finalizer from namespace ...")
        updated = f.core.read_namespace(ns)
        updated.spec.finalizers = [x for x in updated.spec.finalizers if x != fake]
        updated = f.core.replace_namespace_finalize(ns, updated)
        assert fake not in (updated.spec.finalizers or []), f"Finalizer {fake} was found"
    finally:
        f.core.delete_namespace(ns)
