"""The store the controller suites run on: in memory, and a real SQLite file."""

from __future__ import annotations

import pytest
from support.stores import datastore

from kcrypt.datastore.contract import Datastore

__all__ = ["datastore"]


@pytest.fixture
def store(datastore: Datastore) -> Datastore:
    return datastore
