"""End-to-end fixtures: every test here is marked ``e2e``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import KcryptServer, Kubectl, require_tools


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def encrypted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KcryptServer]:
    """One server per module: SQLite, ``--secrets-encryption`` (aescbc, like k3s)."""
    require_tools("kubectl")
    base = tmp_path_factory.mktemp("kcrypt")
    with KcryptServer(base / "data", args=["--secrets-encryption"]) as server:
        yield server


@pytest.fixture(scope="module")
def kubectl(encrypted_server: KcryptServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(encrypted_server.kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))
