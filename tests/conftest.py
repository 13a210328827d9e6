"""Shared fixtures. Paths to the real Kubernetes fixtures live in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
K8S_FIXTURES = SHARED / "fixtures" / "k8s"


@pytest.fixture(scope="session")
def k8s_fixtures() -> Path:
    if not K8S_FIXTURES.is_dir():
        pytest.fail(f"Kubernetes fixtures not found at {K8S_FIXTURES}")
    return K8S_FIXTURES
