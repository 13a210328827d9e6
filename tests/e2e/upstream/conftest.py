"""A small stand-in for Kubernetes' e2e ``framework`` (test/e2e/framework).

Each ported test gets what ``framework.NewDefaultFramework(<base>)`` gives an
upstream test: a client set (here the official ``kubernetes`` client, the
closest thing to client-go) and a fresh namespace ``<base>-<n>``, deleted
after the test. Tests keep their upstream names (as docstrings and in the
function name), their steps (``By(...)`` comments) and their assertions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ..harness import KcryptServer


@dataclass
class Framework:
    api: client.ApiClient
    core: client.CoreV1Api
    namespace: str

    def create_namespace(self, base: str) -> client.V1Namespace:
        """``f.CreateNamespace(base, nil)``: a namespace with a unique name from ``base``."""
        name = f"{base}-{random.randrange(10_000):04d}"
        return self.core.create_namespace(
            client.V1Namespace(
                metadata=client.V1ObjectMeta(name=name, labels={"e2e-run": "kcrypt"})
            )
        )


@pytest.fixture(scope="module")
def api(encrypted_server: KcryptServer) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(encrypted_server.kubeconfig))
    api.configuration.connection_pool_maxsize = 256  # the watch tests hold many streams
    try:
        yield api
    finally:
        api.close()


def framework_for(base: str) -> object:
    @pytest.fixture
    def f(api: client.ApiClient) -> Iterator[Framework]:
        core = client.CoreV1Api(api)
        fw = Framework(api=api, core=core, namespace="")
        fw.namespace = fw.create_namespace(base).metadata.name
        try:
            yield fw
        finally:
            try:
                core.delete_namespace(fw.namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise

    return f
