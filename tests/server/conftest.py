"""The server suites' datastore fixture: in memory, and a real SQLite file."""

from support.stores import datastore

__all__ = ["datastore"]
