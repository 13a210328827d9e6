"""Shared fixtures.

Kubernetes' own data files (protobuf objects, KMS etcd records, config test
files with upstream's expected errors) are not part of this repository. Tests
find them through ``KCRYPT_K8S_FIXTURES`` (default ``../shared/fixtures/k8s``
beside the clone) and skip, naming the reason, where they are absent.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
K8S_FIXTURES = Path(
    os.environ.get("KCRYPT_K8S_FIXTURES") or REPO.parent / "shared" / "fixtures" / "k8s"
).resolve()
FIXTURES_MISSING = (
    f"Kubernetes fixtures not found at {K8S_FIXTURES} (set KCRYPT_K8S_FIXTURES to their folder)"
)


@pytest.fixture(scope="session")
def k8s_fixtures() -> Path:
    if not K8S_FIXTURES.is_dir():
        pytest.skip(FIXTURES_MISSING)
    return K8S_FIXTURES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """CI has the fixtures: ``KCRYPT_REQUIRE_FIXTURES=1`` turns their absence into a failure."""
    if os.environ.get("KCRYPT_REQUIRE_FIXTURES") == "1" and not K8S_FIXTURES.is_dir():
        raise pytest.UsageError(FIXTURES_MISSING)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if FIXTURES_MISSING in str(r.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} tests skipped: {FIXTURES_MISSING}")


# Suites whose tests are clients of real server processes (kubectl, the kubernetes
# client, httpx, subprocess pipes). A client socket or pipe such a test leaves for the
# garbage collector is a hygiene slip of the test, not of kcrypt; collected later, its
# ResourceWarning would fail whatever unrelated test happens to be running. These are
# collected at each such test's end, with ResourceWarning ignored there only: the
# in-process suites (storage, datastore, API over ASGI) keep every warning an error.
_SERVER_CLIENT_SUITES = {"e2e", "ha", "rke_e2e"}


@pytest.fixture(autouse=True)
def _collect_client_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    parts = Path(str(request.node.path)).relative_to(REPO / "tests").parts
    if parts and parts[0] in _SERVER_CLIENT_SUITES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
