"""Datastore errors.

    DatastoreError
    ├── KeyExists          create() on a key that is live
    ├── Compacted          a read or watch asked for a revision already compacted
    ├── FutureRevision     a read asked for a revision not yet written
    ├── LeaseNotFound      keepalive/revoke/put with an unknown or expired lease
    ├── Unavailable        the engine cannot be reached (etcd down, SQLite file unopenable)
    ├── WriterLocked       another process holds the SQLite writer lock
    ├── CorruptStore       the SQLite file is not a database or fails its integrity check
    └── InvalidEndpoint    an endpoint URL kcrypt does not understand

Foreign errors (sqlite3, grpc) are translated in exactly one function per
engine. Messages name the endpoint *without credentials* and the key, never a
value.
"""

from __future__ import annotations

from kcrypt.errors import KcryptError

__all__ = [
    "Compacted",
    "CorruptStore",
    "DatastoreError",
    "FutureRevision",
    "InvalidEndpoint",
    "KeyExists",
    "LeaseNotFound",
    "Unavailable",
    "WriterLocked",
]


class DatastoreError(KcryptError):
    """Base class of every datastore error."""


class KeyExists(DatastoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key already exists: {key}")
        self.key = key


class Compacted(DatastoreError):
    def __init__(self, revision: int, compact_revision: int) -> None:
        super().__init__(
            f"required revision {revision} has been compacted (compacted up to {compact_revision})"
        )
        self.revision = revision
        self.compact_revision = compact_revision


class FutureRevision(DatastoreError):
    def __init__(self, revision: int, current: int) -> None:
        super().__init__(f"required revision {revision} is a future revision (current {current})")
        self.revision = revision
        self.current = current


class LeaseNotFound(DatastoreError):
    def __init__(self, lease: int) -> None:
        super().__init__(f"lease {lease} not found")
        self.lease = lease


class Unavailable(DatastoreError):
    """The store cannot be reached; ``endpoint`` is printable (no credentials)."""

    def __init__(self, endpoint: str, detail: str) -> None:
        super().__init__(f"datastore {endpoint} is unavailable: {detail}")
        self.endpoint = endpoint


class WriterLocked(DatastoreError):
    def __init__(self, endpoint: str) -> None:
        super().__init__(
            f"datastore {endpoint} is locked by another kcrypt process: "
            "only one process may write an embedded SQLite datastore at a time"
        )
        self.endpoint = endpoint


class CorruptStore(DatastoreError):
    def __init__(self, endpoint: str, detail: str) -> None:
        super().__init__(f"datastore {endpoint} is corrupt or not a kcrypt/kine database: {detail}")
        self.endpoint = endpoint


class InvalidEndpoint(DatastoreError):
    pass
