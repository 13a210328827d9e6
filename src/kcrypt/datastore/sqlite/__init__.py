"""The embedded SQLite engine (kine's table layout). See ``engine.py``."""

from kcrypt.datastore.sqlite.engine import open_sqlite

__all__ = ["open_sqlite"]
