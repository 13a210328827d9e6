"""The revisioned key-value store under everything (see ``contract.py``).

Open one with :func:`open_datastore`; engines live in ``sqlite/``,
``etcd/`` and ``memory.py`` and are loaded on first use.
"""

from kcrypt.datastore.compaction import compact_history
from kcrypt.datastore.contract import (
    Datastore,
    DeleteResult,
    Event,
    EventType,
    Image,
    KeyValue,
    Page,
    PutIf,
    TxnResult,
    UpdateResult,
)
from kcrypt.datastore.endpoint import open_datastore, open_image, redact
from kcrypt.datastore.errors import (
    Compacted,
    CorruptStore,
    DatastoreError,
    FutureRevision,
    InvalidEndpoint,
    KeyExists,
    LeaseNotFound,
    Unavailable,
    WriterLocked,
)

__all__ = [
    "Compacted",
    "CorruptStore",
    "Datastore",
    "DatastoreError",
    "DeleteResult",
    "Event",
    "EventType",
    "FutureRevision",
    "Image",
    "InvalidEndpoint",
    "KeyExists",
    "KeyValue",
    "LeaseNotFound",
    "Page",
    "PutIf",
    "TxnResult",
    "Unavailable",
    "UpdateResult",
    "WriterLocked",
    "compact_history",
    "open_datastore",
    "open_image",
    "redact",
]
