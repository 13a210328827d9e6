"""kubernetes/kubernetes test/e2e/common/node/secrets.go, the tests that need no pods.

Not ported (they run pods): "should be consumable from pods in env vars",
"should be consumable via the environment", "should be consumable as
environment variable names variable names with various prefixes".
"""

from __future__ import annotations

import base64
import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .conftest import Framework, framework_for

f = framework_for("secrets")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_secrets_should_fail_to_create_secret_due_to_empty_secret_key(f: Framework) -> None:
    """[sig-node] Secrets should fail to create secret due to empty secret key [Conformance]"""
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(
            namespace=f.namespace, name=f"secret-emptykey-test-{uuid.uuid4()}"
        ),
        data={"": b64(b"value-1\n")},
    )
    # By("Creating projection with secret that has name ...")
    with pytest.raises(ApiException):
        f.core.create_namespaced_secret(f.namespace, secret)


def test_secrets_should_patch_a_secret(f: Framework) -> None:
    """[sig-node] Secrets should patch a secret [Conformance]"""
    # By("creating a secret")
    name = f"test-secret-{uuid.uuid4()}"
    created = f.core.create_namespaced_secret(
        f.namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, labels={"testsecret-constant": "true"}),
            data={"key": b64(b"value")},
            type="Opaque",
        ),
    )
    assert created.metadata.resource_version  # HaveValidResourceVersion

    # By("listing secrets in all namespaces to ensure that there are more than zero")
    listed = f.core.list_secret_for_all_namespaces(label_selector="testsecret-constant=true")
    assert listed.items, "no secrets found"
    found = [
        s for s in listed.items if (s.metadata.name, s.metadata.namespace) == (name, f.namespace)
    ]
    assert found, f"unable to find secret {f.namespace}/{name} by name"

    # By("patching the secret")
    # json.Marshal of map[string][]byte base64-encodes the (already base64) new value
    new_data = b64(b"value1").encode()
    f.core.patch_namespaced_secret(
        name,
        f.namespace,
        {"metadata": {"labels": {"testsecret": "true"}}, "data": {"key": b64(new_data)}},
    )
    secret = f.core.read_namespaced_secret(name, f.namespace)
    assert int(created.metadata.resource_version) < int(secret.metadata.resource_version), (
        "patched object should have a larger resource version"
    )
    decoded = base64.b64decode(base64.b64decode(secret.data["key"]))
    assert decoded == b"value1", "found secret, but the data wasn't updated from the patch"

    # By("deleting the secret using a LabelSelector")
    f.core.delete_collection_namespaced_secret(f.namespace, label_selector="testsecret=true")

    # By("listing secrets in all namespaces, searching for label name and value in patch")
    listed = f.core.list_secret_for_all_namespaces(label_selector="testsecret-constant=true")
    found = [
        s for s in listed.items if (s.metadata.name, s.metadata.namespace) == (name, f.namespace)
    ]
    assert not found, f"secret {f.namespace}/{name} was not deleted successfully"
