"""kubernetes/kubernetes test/e2e/apimachinery/chunking.go ("Servers with support for API
chunking"), both tests, on ConfigMaps instead of PodTemplates (a kind kcrypt does not
serve); ``shouldCheckRemainingItem()`` is true (RemainingItemCount is GA).

The compaction test runs on its own server compacting every three seconds (upstream
relies on kube-apiserver's five-minute compactor and polls every 20 s for up to
ten minutes); it polls every second instead.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ..harness import KcryptServer
from .conftest import Framework

TOTAL = 400


def populate(core: client.CoreV1Api, ns: str) -> None:
    # By("creating a large number of resources")
    def create(i: int) -> None:
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"template-{i:04d}"))
        for _ in range(4):
            try:
                core.create_namespaced_config_map(ns, body)
                return
            except ApiException:
                continue
        raise AssertionError(f"Unable to create template {i}, exiting")

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(create, range(TOTAL)))


@contextlib.contextmanager
def framework_on(server: KcryptServer) -> Iterator[Framework]:
    """A client and a namespace holding TOTAL configmaps (the test's BeforeEach)."""
    api = config.new_client_from_config(config_file=str(server.kubeconfig))
    core = client.CoreV1Api(api)
    fw = Framework(api=api, core=core, namespace="")
    fw.namespace = fw.create_namespace("chunking").metadata.name
    populate(core, fw.namespace)
    try:
        yield fw
    finally:
        with contextlib.suppress(ApiException):
            core.delete_namespace(fw.namespace)
        api.close()


@pytest.fixture
def chunking(encrypted_server: KcryptServer) -> Iterator[Framework]:
    with framework_on(encrypted_server) as fw:
        yield fw


def test_servers_with_support_for_api_chunking_should_return_chunks_of_results_for_list_calls(
    chunking: Framework,
) -> None:
    """[sig-api-machinery] Servers with support for API chunking should return chunks of
    results for list calls"""
    f = chunking
    # By("retrieving those results in paged fashion several times")
    for _ in range(3):
        found, last_rv, token = 0, "", None
        while True:
            limit = random.randrange(TOTAL // 10) + 1
            page = f.core.list_namespaced_config_map(f.namespace, limit=limit, _continue=token)
            assert len(page.items) <= limit
            last_rv = last_rv or page.metadata.resource_version
            assert page.metadata.resource_version == last_rv
            if not page.metadata._continue:
                assert page.metadata.remaining_item_count is None
            else:
                assert page.metadata.remaining_item_count is not None
                assert page.metadata.remaining_item_count + len(page.items) + found == TOTAL
            for item in page.items:
                assert item.metadata.name == f"template-{found:04d}"
                found += 1
            token = page.metadata._continue
            if not token:
                break
        assert found == TOTAL
    # By("retrieving those results all at once")
    everything = f.core.list_namespaced_config_map(f.namespace, limit=TOTAL + 1)
    assert len(everything.items) == TOTAL


@pytest.fixture
def compacting(tmp_path: Path) -> Iterator[Framework]:
    with (
        KcryptServer(tmp_path / "data", args=["--compaction-interval", "3"]) as server,
        framework_on(server) as fw,
    ):
        yield fw


def test_servers_with_support_for_api_chunking_should_support_continue_listing_from_the_last_key_if_the_original_version_has_been_compacted_away(  # noqa: E501
    compacting: Framework,
) -> None:
    """[sig-api-machinery] Servers with support for API chunking should support continue
    listing from the last key if the original version has been compacted away, though the
    list is inconsistent [Slow]"""
    f, ns = compacting, compacting.namespace
    # By("retrieving the first page")
    one_tenth = TOTAL // 10
    page = f.core.list_namespaced_config_map(ns, limit=one_tenth)
    first_token, first_rv = page.metadata._continue, page.metadata.resource_version
    assert page.metadata.remaining_item_count + len(page.items) == TOTAL
    # By("retrieving the second page until the token expires")
    inconsistent = ""
    deadline = time.monotonic() + 120
    while not inconsistent:
        assert time.monotonic() < deadline, f"token {first_token} never expired"
        time.sleep(1)
        try:
            f.core.list_namespaced_config_map(ns, limit=one_tenth, _continue=first_token)
        except ApiException as exc:
            assert exc.status == 410, exc  # IsResourceExpired
            inconsistent = json.loads(exc.body)["metadata"]["continue"]
            assert inconsistent, "expect non empty continue token"
    # By("retrieving the second page again with the token received with the error message")
    page = f.core.list_namespaced_config_map(ns, limit=one_tenth, _continue=inconsistent)
    assert page.metadata.resource_version != first_rv
    assert len(page.items) == one_tenth
    found = one_tenth
    if page.metadata._continue:
        assert page.metadata.remaining_item_count + len(page.items) + found == TOTAL
    for item in page.items:
        assert item.metadata.name == f"template-{found:04d}"
        found += 1
    # By("retrieving all remaining pages")
    token, last_rv = page.metadata._continue, page.metadata.resource_version
    while True:
        page = f.core.list_namespaced_config_map(ns, limit=one_tenth, _continue=token)
        if not page.metadata._continue:
            assert page.metadata.remaining_item_count is None
        else:
            assert page.metadata.remaining_item_count + len(page.items) + found == TOTAL
        assert len(page.items) <= one_tenth
        assert page.metadata.resource_version == last_rv
        for item in page.items:
            assert item.metadata.name == f"template-{found:04d}"
            found += 1
        token = page.metadata._continue
        if not token:
            break
    assert found == TOTAL
