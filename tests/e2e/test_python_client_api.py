"""The official ``kubernetes`` client: server-side apply, paging counts, namespace watches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.exceptions import ApiException

from .harness import KcryptServer


@pytest.fixture(scope="module")
def api(encrypted_server: KcryptServer) -> Iterator[client.ApiClient]:
    c = config.new_client_from_config(config_file=str(encrypted_server.kubeconfig))
    try:
        yield c
    finally:
        c.close()


def configmap(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def test_server_side_apply_through_the_dynamic_client(
    api: client.ApiClient, tmp_path: Path
) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    made = dyn.server_side_apply(
        cms, body=configmap("py-ssa", "default", a="1"), field_manager="python-a"
    )
    assert made.data.a == "1"
    entries = made.metadata.managedFields
    assert [(e.manager, e.operation) for e in entries] == [("python-a", "Apply")]
    with pytest.raises(ApiException) as conflict:
        dyn.server_side_apply(
            cms, body=configmap("py-ssa", "default", a="2"), field_manager="python-b"
        )
    assert conflict.value.status == 409
    assert 'conflict with \\"python-a\\": .data.a' in str(conflict.value.body)
    forced = dyn.server_side_apply(
        cms,
        body=configmap("py-ssa", "default", a="2"),
        field_manager="python-b",
        force_conflicts=True,
    )
    assert forced.data.a == "2"
    shared = dyn.server_side_apply(  # the same value: shared, no conflict
        cms, body=configmap("py-ssa", "default", a="2"), field_manager="python-a"
    )
    assert sorted(e.manager for e in shared.metadata.managedFields) == ["python-a", "python-b"]


def test_paged_lists_carry_remaining_item_counts(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="paging")))
    for i in range(7):
        core.create_namespaced_config_map(
            "paging", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm-{i}"))
        )
    seen, counts, token = 0, [], None
    while True:
        page = core.list_namespaced_config_map("paging", limit=3, _continue=token)
        assert page.metadata is not None
        seen += len(page.items)
        counts.append(page.metadata.remaining_item_count)
        token = page.metadata._continue
        if not token:
            break
    assert seen == 7 and counts == [4, 1, None]


def test_a_watch_over_namespaces_sees_them_come_terminate_and_go(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    listed = core.list_namespace()
    assert listed.metadata is not None
    start = listed.metadata.resource_version
    seen: list[tuple[str, str, str]] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(core.list_namespace, resource_version=start, timeout_seconds=60):
            ns = event["object"]
            if ns.metadata.name != "py-watched":
                continue
            seen.append((event["type"], ns.metadata.name, ns.status.phase))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py-watched")))
    core.delete_namespace("py-watched")
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert seen[0] == ("ADDED", "py-watched", "Active")
    assert ("MODIFIED", "py-watched", "Terminating") in seen
    assert seen[-1][0] == "DELETED"
