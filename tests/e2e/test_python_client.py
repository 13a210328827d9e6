"""The official ``kubernetes`` Python client against ``kcrypt server``."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from .harness import KcryptServer


@pytest.fixture(scope="module")
def core(encrypted_server: KcryptServer) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(encrypted_server.kubeconfig))
    try:
        yield client.CoreV1Api(api)
    finally:
        api.close()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_create_read_list_patch_replace_delete_a_secret(core: client.CoreV1Api) -> None:
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name="py-secret", labels={"app": "py"}),
        string_data={"password": "from-python"},
    )
    created = core.create_namespaced_secret("default", body)
    assert created.metadata.resource_version
    assert base64.b64decode(created.data["password"]) == b"from-python"

    read = core.read_namespaced_secret("py-secret", "default")
    assert read.type == "Opaque" and read.metadata.uid == created.metadata.uid

    listed = core.list_secret_for_all_namespaces(label_selector="app=py")
    assert [s.metadata.name for s in listed.items] == ["py-secret"]

    patched = core.patch_namespaced_secret(
        "py-secret", "default", {"metadata": {"annotations": {"note": "patched"}}}
    )
    assert patched.metadata.annotations == {"note": "patched"}

    patched.data = {"password": b64("replaced")}
    replaced = core.replace_namespaced_secret("py-secret", "default", patched)
    assert base64.b64decode(replaced.data["password"]) == b"replaced"

    stale = read  # an older resourceVersion: optimistic concurrency says no
    stale.data = {"password": b64("lost-update")}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_secret("py-secret", "default", stale)
    assert conflict.value.status == 409

    core.delete_namespaced_secret("py-secret", "default")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_secret("py-secret", "default")
    assert gone.value.status == 404


def test_a_duplicate_create_is_already_exists(core: client.CoreV1Api) -> None:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm"), data={"k": "v"})
    core.create_namespaced_config_map("default", body)
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map("default", body)
    assert dup.value.status == 409 and "AlreadyExists" in dup.value.body


def test_watch_sees_changes_made_by_another_client(core: client.CoreV1Api) -> None:
    start = core.list_namespaced_secret("kube-system").metadata.resource_version
    seen: list[tuple[str, str]] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(
            core.list_namespaced_secret,
            "kube-system",
            resource_version=start,
            timeout_seconds=20,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    core.create_namespaced_secret(
        "kube-system",
        client.V1Secret(metadata=client.V1ObjectMeta(name="py-watched"), data={"a": b64("1")}),
    )
    core.patch_namespaced_secret("py-watched", "kube-system", {"data": {"a": b64("2")}})
    core.delete_namespaced_secret("py-watched", "kube-system")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert seen == [
        ("ADDED", "py-watched"),
        ("MODIFIED", "py-watched"),
        ("DELETED", "py-watched"),
    ]
