"""kubernetes/kubernetes test/e2e/common/node/configmap.go, the tests that need no pods.

Not ported (they run pods): "should be consumable via environment variable",
"should be consumable via the environment".
"""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .conftest import Framework, framework_for

f = framework_for("configmap")


def new_config_map(f: Framework, name: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(namespace=f.namespace, name=name),
        data={"data-1": "value-1", "data-2": "value-2", "data-3": "value-3"},
    )


def test_configmap_should_fail_to_create_configmap_with_empty_key(f: Framework) -> None:
    """[sig-node] ConfigMap should fail to create ConfigMap with empty key [Conformance]"""
    cm = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(
            namespace=f.namespace, name=f"configmap-test-emptyKey-{uuid.uuid4()}"
        ),
        data={"": "value-1"},
    )
    # By("Creating configMap that has name ...")
    with pytest.raises(ApiException):
        f.core.create_namespaced_config_map(f.namespace, cm)


def test_configmap_should_update_configmap_successfully(f: Framework) -> None:
    """[sig-node] ConfigMap should update ConfigMap successfully"""
    name = f"configmap-test-{uuid.uuid4()}"
    cm = new_config_map(f, name)
    # By("Creating ConfigMap ...")
    f.core.create_namespaced_config_map(f.namespace, cm)
    cm.data = {"data": "value"}
    # By("Updating configMap ...")
    f.core.replace_namespaced_config_map(name, f.namespace, cm)
    from_update = f.core.read_namespaced_config_map(name, f.namespace)
    # By("Verifying update of ConfigMap ...")
    assert from_update.data == cm.data


def test_configmap_should_run_through_a_configmap_lifecycle(f: Framework) -> None:
    """[sig-node] ConfigMap should run through a ConfigMap lifecycle [Conformance]"""
    ns = f.namespace
    name = f"test-configmap{uuid.uuid4()}"
    test_cm = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"test-configmap-static": "true"}),
        data={"valueName": "value"},
    )
    # By("creating a ConfigMap")
    f.core.create_namespaced_config_map(ns, test_cm)
    # By("fetching the ConfigMap")
    cm = f.core.read_namespaced_config_map(name, ns)
    assert cm.data["valueName"] == test_cm.data["valueName"]
    assert cm.metadata.labels["test-configmap-static"] == "true"
    # By("patching the ConfigMap")
    f.core.patch_namespaced_config_map(
        name,
        ns,
        {"metadata": {"labels": {"test-configmap": "patched"}}, "data": {"valueName": "value1"}},
    )
    # By("listing all ConfigMaps in all namespaces with a label selector")
    listed = f.core.list_config_map_for_all_namespaces(label_selector="test-configmap=patched")
    assert any(
        c.metadata.name == name
        and c.metadata.namespace == ns
        and c.metadata.labels["test-configmap-static"] == "true"
        and c.metadata.labels["test-configmap"] == "patched"
        and c.data["valueName"] == "value1"
        for c in listed.items
    ), f"failed to find ConfigMap {ns}/{name} by label selector"
    # By("deleting the ConfigMap by collection with a label selector")
    f.core.delete_collection_namespaced_config_map(ns, label_selector="test-configmap-static=true")
    # By("listing all ConfigMaps in test namespace")
    listed = f.core.list_namespaced_config_map(ns, label_selector="test-configmap-static=true")
    assert len(listed.items) == 0, "ConfigMap is still present after being deleted by collection"
