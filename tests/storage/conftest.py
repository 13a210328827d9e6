"""Stores on real engines (memory and a SQLite file) with a real aescbc config."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from support.stores import datastore, metrics_registry, registry

from kcrypt.datastore import Datastore
from kcrypt.storage import ObjectStore, StorageMetrics, TransformerRegistry

__all__ = ["datastore", "metrics_registry", "registry"]


@pytest.fixture
async def store(
    datastore: Datastore, registry: TransformerRegistry, metrics_registry: CollectorRegistry
) -> ObjectStore:
    return ObjectStore(datastore, registry, metrics=StorageMetrics(metrics_registry))
