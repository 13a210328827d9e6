"""The Go types kcrypt serves, as schema tables (field order = Go's JSON print order).

Sources: k8s.io/api core/v1 types.go and k8s.io/apimachinery meta/v1 types.go
(json tags and pointer-ness), their generated.proto (field numbers, mirrored in
``proto/*.proto``).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message  # type: ignore[import-untyped]

from kcrypt.codec.proto import core_pb2, meta_pb2, reviews_pb2
from kcrypt.codec.schema import Field, Schema, T

__all__ = ["OBJECT_TYPES", "TYPES", "TypeInfo"]

_MANAGED_FIELDS_ENTRY = Schema(
    (
        Field("manager", T.STR),
        Field("operation", T.STR),
        Field("apiVersion", T.STR),
        Field("time", T.TIME, pointer=True),
        Field("fieldsType", T.STR),
        Field("fieldsV1", T.RAW_JSON, pointer=True),
        Field("subresource", T.STR),
    )
)

_OWNER_REFERENCE = Schema(
    (
        Field("apiVersion", T.STR, omitempty=False),
        Field("kind", T.STR, omitempty=False),
        Field("name", T.STR, omitempty=False),
        Field("uid", T.STR, omitempty=False),
        Field("controller", T.BOOL, pointer=True),
        Field("blockOwnerDeletion", T.BOOL, pointer=True),
    )
)

OBJECT_META = Schema(
    (
        Field("name", T.STR),
        Field("generateName", T.STR),
        Field("namespace", T.STR),
        Field("selfLink", T.STR),
        Field("uid", T.STR),
        Field("resourceVersion", T.STR),
        Field("generation", T.INT),
        Field("creationTimestamp", T.TIME),
        Field("deletionTimestamp", T.TIME, pointer=True),
        Field("deletionGracePeriodSeconds", T.INT, pointer=True),
        Field("labels", T.STR_MAP),
        Field("annotations", T.STR_MAP),
        Field("ownerReferences", T.MSG_LIST, sub=_OWNER_REFERENCE),
        Field("finalizers", T.STR_LIST),
        Field("managedFields", T.MSG_LIST, sub=_MANAGED_FIELDS_ENTRY),
    )
)

_LIST_META = Schema(
    (
        Field("selfLink", T.STR),
        Field("resourceVersion", T.STR),
        Field("continue", T.STR),
        Field("remainingItemCount", T.INT, pointer=True),
    )
)

_METADATA = Field("metadata", T.MSG, sub=OBJECT_META)
_LIST_METADATA = Field("metadata", T.MSG, sub=_LIST_META)

SECRET = Schema(
    (
        _METADATA,
        Field("immutable", T.BOOL, pointer=True),
        Field("data", T.BYTES_MAP),
        Field("stringData", T.STR_MAP),
        Field("type", T.STR),
    ),
    type_meta=True,
)

CONFIG_MAP = Schema(
    (
        _METADATA,
        Field("immutable", T.BOOL, pointer=True),
        Field("data", T.STR_MAP),
        Field("binaryData", T.BYTES_MAP),
    ),
    type_meta=True,
)

_NAMESPACE_CONDITION = Schema(
    (
        Field("type", T.STR, omitempty=False),
        Field("status", T.STR, omitempty=False),
        Field("lastTransitionTime", T.TIME),
        Field("reason", T.STR),
        Field("message", T.STR),
    )
)

NAMESPACE = Schema(
    (
        _METADATA,
        Field("spec", T.MSG, sub=Schema((Field("finalizers", T.STR_LIST),))),
        Field(
            "status",
            T.MSG,
            sub=Schema(
                (
                    Field("phase", T.STR),
                    Field("conditions", T.MSG_LIST, sub=_NAMESPACE_CONDITION),
                )
            ),
        ),
    ),
    type_meta=True,
)

_OBJECT_REFERENCE = Schema(
    (
        Field("kind", T.STR),
        Field("namespace", T.STR),
        Field("name", T.STR),
        Field("uid", T.STR),
        Field("apiVersion", T.STR),
        Field("resourceVersion", T.STR),
        Field("fieldPath", T.STR),
    )
)

EVENT = Schema(
    (
        _METADATA,
        Field("involvedObject", T.MSG, sub=_OBJECT_REFERENCE),
        Field("reason", T.STR),
        Field("message", T.STR),
        Field("source", T.MSG, sub=Schema((Field("component", T.STR), Field("host", T.STR)))),
        Field("firstTimestamp", T.TIME),
        Field("lastTimestamp", T.TIME),
        Field("count", T.INT),
        Field("type", T.STR),
        Field("eventTime", T.MICROTIME),
        Field(
            "series",
            T.MSG,
            pointer=True,
            sub=Schema((Field("count", T.INT), Field("lastObservedTime", T.MICROTIME))),
        ),
        Field("action", T.STR),
        Field("related", T.MSG, pointer=True, sub=_OBJECT_REFERENCE),
        Field("reportingComponent", T.STR, omitempty=False),
        Field("reportingInstance", T.STR, omitempty=False),
    ),
    type_meta=True,
)

_STATUS_DETAILS = Schema(
    (
        Field("name", T.STR),
        Field("group", T.STR),
        Field("kind", T.STR),
        Field("uid", T.STR),
        Field(
            "causes",
            T.MSG_LIST,
            sub=Schema((Field("reason", T.STR), Field("message", T.STR), Field("field", T.STR))),
        ),
        Field("retryAfterSeconds", T.INT),
    )
)

STATUS = Schema(
    (
        _LIST_METADATA,
        Field("status", T.STR),
        Field("message", T.STR),
        Field("reason", T.STR),
        Field("details", T.MSG, pointer=True, sub=_STATUS_DETAILS),
        Field("code", T.INT),
    ),
    type_meta=True,
)


_ACCESS_STATUS = Schema(
    (
        Field("allowed", T.BOOL, omitempty=False),
        Field("denied", T.BOOL),
        Field("reason", T.STR),
        Field("evaluationError", T.STR),
    )
)

SELF_SUBJECT_ACCESS_REVIEW = Schema(
    (
        _METADATA,
        Field(
            "spec",
            T.MSG,
            sub=Schema(
                (
                    Field(
                        "resourceAttributes",
                        T.MSG,
                        pointer=True,
                        sub=Schema(
                            tuple(
                                Field(f, T.STR)
                                for f in (
                                    "namespace",
                                    "verb",
                                    "group",
                                    "version",
                                    "resource",
                                    "subresource",
                                    "name",
                                )
                            )
                        ),
                    ),
                    Field(
                        "nonResourceAttributes",
                        T.MSG,
                        pointer=True,
                        sub=Schema((Field("path", T.STR), Field("verb", T.STR))),
                    ),
                )
            ),
        ),
        Field("status", T.MSG, sub=_ACCESS_STATUS),
    ),
    type_meta=True,
)

_RULES_STATUS = Schema(
    (
        Field(
            "resourceRules",
            T.MSG_LIST,
            omitempty=False,
            sub=Schema(
                (
                    Field("verbs", T.STR_LIST, omitempty=False),
                    Field("apiGroups", T.STR_LIST),
                    Field("resources", T.STR_LIST),
                    Field("resourceNames", T.STR_LIST),
                )
            ),
        ),
        Field(
            "nonResourceRules",
            T.MSG_LIST,
            omitempty=False,
            sub=Schema(
                (Field("verbs", T.STR_LIST, omitempty=False), Field("nonResourceURLs", T.STR_LIST))
            ),
        ),
        Field("incomplete", T.BOOL, omitempty=False),
        Field("evaluationError", T.STR),
    )
)

SELF_SUBJECT_RULES_REVIEW = Schema(
    (
        _METADATA,
        Field("spec", T.MSG, sub=Schema((Field("namespace", T.STR),))),
        Field("status", T.MSG, sub=_RULES_STATUS),
    ),
    type_meta=True,
)

SELF_SUBJECT_REVIEW = Schema(
    (
        _METADATA,
        Field(
            "status",
            T.MSG,
            sub=Schema(
                (
                    Field(
                        "userInfo",
                        T.MSG,
                        sub=Schema(
                            (
                                Field("username", T.STR),
                                Field("uid", T.STR),
                                Field("groups", T.STR_LIST),
                            )
                        ),
                    ),
                )
            ),
        ),
    ),
    type_meta=True,
)


def _list_of(item: Schema) -> Schema:
    return Schema(
        (_LIST_METADATA, Field("items", T.MSG_LIST, omitempty=False, sub=item)), type_meta=True
    )


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """A top-level type: its schema and protobuf message class."""

    api_version: str
    kind: str
    schema: Schema
    message: type[Message]


OBJECT_TYPES: dict[tuple[str, str], TypeInfo] = {
    (t.api_version, t.kind): t
    for t in (
        TypeInfo("v1", "Secret", SECRET, core_pb2.Secret),
        TypeInfo("v1", "ConfigMap", CONFIG_MAP, core_pb2.ConfigMap),
        TypeInfo("v1", "Namespace", NAMESPACE, core_pb2.Namespace),
        TypeInfo("v1", "Event", EVENT, core_pb2.Event),
    )
}
"""Kinds that are stored under /registry."""

TYPES: dict[tuple[str, str], TypeInfo] = {
    **OBJECT_TYPES,
    **{
        (t.api_version, t.kind): t
        for t in (
            TypeInfo("v1", "SecretList", _list_of(SECRET), core_pb2.SecretList),
            TypeInfo("v1", "ConfigMapList", _list_of(CONFIG_MAP), core_pb2.ConfigMapList),
            TypeInfo("v1", "NamespaceList", _list_of(NAMESPACE), core_pb2.NamespaceList),
            TypeInfo("v1", "EventList", _list_of(EVENT), core_pb2.EventList),
            TypeInfo("v1", "Status", STATUS, meta_pb2.Status),
            TypeInfo(
                "authorization.k8s.io/v1",
                "SelfSubjectAccessReview",
                SELF_SUBJECT_ACCESS_REVIEW,
                reviews_pb2.SelfSubjectAccessReview,
            ),
            TypeInfo(
                "authorization.k8s.io/v1",
                "SelfSubjectRulesReview",
                SELF_SUBJECT_RULES_REVIEW,
                reviews_pb2.SelfSubjectRulesReview,
            ),
            TypeInfo(
                "authentication.k8s.io/v1",
                "SelfSubjectReview",
                SELF_SUBJECT_REVIEW,
                reviews_pb2.SelfSubjectReview,
            ),
        )
    },
}
"""Every type the codec can encode: stored kinds plus their lists, Status and the
self-reviews (API requests and responses, never stored)."""
