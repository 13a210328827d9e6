"""kubernetes/kubernetes test/e2e/common/storage/{secrets,configmap}_volume.go:
only the immutability tests (every other test there mounts volumes in pods)."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .conftest import Framework, framework_for

f = framework_for("volume")


def is_invalid(exc: ApiException) -> bool:  # apierrors.IsInvalid
    return exc.status == 422 and '"reason":"Invalid"' in (exc.body or "")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secrets_should_be_immutable_if_immutable_field_is_set(f: Framework) -> None:
    """[sig-storage] Secrets should be immutable if `immutable` field is set [Conformance]"""
    name = "immutable"
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(namespace=f.namespace, name=name),
        data={"data-1": b64("value-1\n"), "data-2": b64("value-2\n"), "data-3": b64("value-3\n")},
    )
    current = f.core.create_namespaced_secret(f.namespace, secret)
    current.data["data-4"] = b64("value-4\n")
    current = f.core.replace_namespaced_secret(name, f.namespace, current)
    # Mark secret as immutable.
    current.immutable = True
    current = f.core.replace_namespaced_secret(name, f.namespace, current)
    # Ensure data can't be changed now.
    current.data["data-5"] = b64("value-5\n")
    with pytest.raises(ApiException) as err:
        f.core.replace_namespaced_secret(name, f.namespace, current)
    assert is_invalid(err.value), f"expected 'invalid' as error, got instead: {err.value}"
    # Ensure secret can't be switched from immutable to mutable.
    current = f.core.read_namespaced_secret(name, f.namespace)
    assert current.immutable, f"currentSecret {name} can be switched from immutable to mutable"
    current.immutable = False
    with pytest.raises(ApiException) as err:
        f.core.replace_namespaced_secret(name, f.namespace, current)
    assert is_invalid(err.value), f"expected 'invalid' as error, got instead: {err.value}"
    # Ensure that metadata can be changed.
    current = f.core.read_namespaced_secret(name, f.namespace)
    current.metadata.labels = {"label1": "value1"}
    f.core.replace_namespaced_secret(name, f.namespace, current)
    # Ensure that immutable secret can be deleted.
    f.core.delete_namespaced_secret(name, f.namespace)


def test_configmap_should_be_immutable_if_immutable_field_is_set(f: Framework) -> None:
    """[sig-storage] ConfigMap should be immutable if `immutable` field is set [Conformance]"""
    name = "immutable"
    cm = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(namespace=f.namespace, name=name),
        data={"data-1": "value-1", "data-2": "value-2", "data-3": "value-3"},
    )
    current = f.core.create_namespaced_config_map(f.namespace, cm)
    current.data["data-4"] = "value-4"
    current = f.core.replace_namespaced_config_map(name, f.namespace, current)
    # Mark config map as immutable.
    current.immutable = True
    current = f.core.replace_namespaced_config_map(name, f.namespace, current)
    # Ensure data can't be changed now.
    current.data["data-5"] = "value-5"
    with pytest.raises(ApiException) as err:
        f.core.replace_namespaced_config_map(name, f.namespace, current)
    assert is_invalid(err.value), f"expected 'invalid' as error, got instead: {err.value}"
    # Ensure config map can't be switched from immutable to mutable.
    current = f.core.read_namespaced_config_map(name, f.namespace)
    assert current.immutable, f"currentConfigMap {name} can be switched from immutable to mutable"
    current.immutable = False
    with pytest.raises(ApiException) as err:
        f.core.replace_namespaced_config_map(name, f.namespace, current)
    assert is_invalid(err.value), f"expected 'invalid' as error, got instead: {err.value}"
    # Ensure that metadata can be changed.
    current = f.core.read_namespaced_config_map(name, f.namespace)
    current.metadata.labels = {"label1": "value1"}
    f.core.replace_namespaced_config_map(name, f.namespace, current)
    # Ensure that immutable config map can be deleted.
    f.core.delete_namespaced_config_map(name, f.namespace)
