"""Objects = codec + the envelope chain per resource + the datastore.

:class:`ObjectStore` gives kube-apiserver's storage semantics
(resourceVersion = datastore revision, compare-and-swap updates, stale values
rewritten on update, consistent paged lists, watches); :class:`TransformerRegistry`
holds the live transformers and swaps them atomically on config reload.
"""

from kcrypt.storage.deletion import DeleteOutcome
from kcrypt.storage.errors import (
    AlreadyExists,
    BadRequest,
    Cause,
    Conflict,
    Expired,
    Forbidden,
    InternalError,
    Invalid,
    NotFound,
    StorageError,
    TooLargeResourceVersion,
)
from kcrypt.storage.events import (
    DEFAULT_EVENT_TTL,
    EventLeases,
    EventRecorder,
    InvolvedObject,
    new_event,
)
from kcrypt.storage.metrics import StorageMetrics
from kcrypt.storage.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from kcrypt.storage.store import ObjectList, ObjectStore, Preconditions, UpdateFn, WatchEvent
from kcrypt.storage.transformers import TransformerRegistry, TransformerSource

__all__ = [
    "DEFAULT_EVENT_TTL",
    "AlreadyExists",
    "BadRequest",
    "Cause",
    "Conflict",
    "DeleteOutcome",
    "EventLeases",
    "EventRecorder",
    "Expired",
    "FieldSelector",
    "Forbidden",
    "InternalError",
    "Invalid",
    "InvolvedObject",
    "LabelSelector",
    "NotFound",
    "ObjectList",
    "ObjectStore",
    "Preconditions",
    "StorageError",
    "StorageMetrics",
    "TooLargeResourceVersion",
    "TransformerRegistry",
    "TransformerSource",
    "UpdateFn",
    "WatchEvent",
    "new_event",
    "parse_field_selector",
    "parse_label_selector",
]
