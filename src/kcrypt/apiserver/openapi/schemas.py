"""The served kinds as OpenAPI schemas: field names, types, list/map semantics, words.

Names, types, formats and the ``x-kubernetes-*`` extensions are upstream's
(k8s.io/api and apimachinery types as kube-openapi publishes them), because
``kubectl explain`` prints them, kubectl's client-side validation checks
manifests against them, and server-side apply tools read the list and map
semantics from them. The descriptions are kcrypt's own short words.

Each schema is a plain dict in OpenAPI v3 form with references written as
``{"$ref": "<Name>"}``; :mod:`.documents` turns the references into v2's
``#/definitions/`` or v3's ``#/components/schemas/`` form.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KIND_SCHEMAS", "SCHEMAS", "gvk"]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE = "io.k8s.api.core.v1"
Schema = dict[str, Any]


def ref(name: str, description: str, **extra: Any) -> Schema:
    return {"allOf": [{"$ref": name}], "description": description, **extra}


def s(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def i(description: str, fmt: str = "int32") -> Schema:
    return {"type": "integer", "format": fmt, "description": description}


def b(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def strings(description: str, **extra: Any) -> Schema:
    return {
        "type": "array",
        "items": {"type": "string", "default": ""},
        "description": description,
        **extra,
    }


def string_map(description: str, *, fmt: str = "") -> Schema:
    item: Schema = {"type": "string", "default": ""}
    if fmt:
        item["format"] = fmt
    return {"type": "object", "additionalProperties": item, "description": description}


def obj(
    description: str,
    props: dict[str, Schema],
    *,
    required: tuple[str, ...] = (),
    ext: Schema | None = None,
) -> Schema:
    """An object schema; ``ext`` adds ``x-kubernetes-*`` extensions."""
    out: Schema = {"type": "object", "description": description, "properties": props}
    if required:
        out["required"] = list(required)
    out.update(ext or {})
    return out


def gvk(kind: str, group: str = "", version: str = "v1") -> list[dict[str, str]]:
    return [{"group": group, "kind": kind, "version": version}]


_TYPE_META = {
    "apiVersion": s("The versioned schema of this object (v1 for the core group)."),
    "kind": s("The REST resource this object represents, in CamelCase."),
}

_TIME = s("A point in time, RFC 3339, in seconds.", format="date-time")

SCHEMAS: dict[str, Schema] = {
    f"{META}.Time": s("A point in time, RFC 3339, in seconds.", format="date-time"),
    f"{META}.MicroTime": s("A point in time, RFC 3339, in microseconds.", format="date-time"),
    f"{META}.FieldsV1": {
        "type": "object",
        "description": "A set of fields in the FieldsV1 format: a trie of "
        "field names (f:), list keys (k:) and set values (v:).",
    },
    f"{META}.OwnerReference": obj(
        "An object that owns this one; owned objects are garbage collected with their owner.",
        {
            "apiVersion": s("API version of the owner."),
            "blockOwnerDeletion": b(
                "If true, the owner cannot be deleted (foreground) before "
                "this reference is removed."
            ),
            "controller": b("If true, this reference points to the managing controller."),
            "kind": s("Kind of the owner."),
            "name": s("Name of the owner."),
            "uid": s("UID of the owner."),
        },
        required=("apiVersion", "kind", "name", "uid"),
        ext={"x-kubernetes-map-type": "atomic"},
    ),
    f"{META}.ManagedFieldsEntry": obj(
        "The fields one manager (a workflow) set through one operation.",
        {
            "apiVersion": s("The version of the resource the fields are expressed in."),
            "fieldsType": s("The format of fieldsV1; the only one is FieldsV1."),
            "fieldsV1": ref(f"{META}.FieldsV1", "The set of fields this manager owns."),
            "manager": s("The name of the manager (the field manager of the writes)."),
            "operation": s("Apply or Update: how the manager set these fields."),
            "subresource": s("The subresource the fields were written through, if any."),
            "time": ref(f"{META}.Time", "When this manager last changed a field."),
        },
    ),
    f"{META}.ObjectMeta": obj(
        "Metadata every persisted object has: identity, labels, annotations, lifecycle.",
        {
            "annotations": string_map("Unstructured key/value data for tools; not queryable."),
            "creationTimestamp": ref(
                f"{META}.Time", "When the object was created (set by the server, read-only)."
            ),
            "deletionGracePeriodSeconds": i(
                "Seconds the object may take to go once deleted (read-only).", "int64"
            ),
            "deletionTimestamp": ref(
                f"{META}.Time",
                "When deletion was requested; set by the "
                "server while finalizers hold the object (read-only).",
            ),
            "finalizers": strings(
                "Names that must all be removed before a deleted object goes away.",
                **{"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
            ),
            "generateName": s(
                "A prefix the server completes into a unique name when name is empty."
            ),
            "generation": i("A sequence number of changes to the desired state.", "int64"),
            "labels": string_map("Key/value pairs for selecting and organising objects."),
            "managedFields": {
                "type": "array",
                "items": {"allOf": [{"$ref": f"{META}.ManagedFieldsEntry"}], "default": {}},
                "description": "Which manager set which fields, as server-side apply records it.",
                "x-kubernetes-list-type": "atomic",
            },
            "name": s("The object's name, unique within its namespace (or cluster)."),
            "namespace": s("The namespace the object lives in; empty for cluster-scoped kinds."),
            "ownerReferences": {
                "type": "array",
                "items": {"allOf": [{"$ref": f"{META}.OwnerReference"}], "default": {}},
                "description": "Objects this one depends on.",
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge",
            },
            "resourceVersion": s(
                "The version of this object the server holds; used for "
                "optimistic concurrency and watches (opaque)."
            ),
            "selfLink": s("Deprecated and not set."),
            "uid": s("The unique, immutable identity of this object (set by the server)."),
        },
    ),
}

_META_REF = ref(f"{META}.ObjectMeta", "Standard object metadata.", default={})

KIND_SCHEMAS: dict[str, Schema] = {
    f"{CORE}.Secret": obj(
        "Holds secret data such as passwords, tokens or keys; stored encrypted at rest "
        "when the server's encryption config names secrets.",
        {
            **_TYPE_META,
            "data": string_map(
                "The secret's values by key; keys consist of alphanumerics, "
                "'-', '_' or '.', values are base64 in JSON and YAML.",
                fmt="byte",
            ),
            "immutable": b("If true, data cannot be changed any more (only metadata can)."),
            "metadata": _META_REF,
            "stringData": string_map(
                "Write-only values given as plain strings; merged into "
                "data on write, never returned."
            ),
            "type": s("How the data is meant to be used (Opaque by default)."),
        },
        ext={"x-kubernetes-group-version-kind": gvk("Secret")},
    ),
    f"{CORE}.ConfigMap": obj(
        "Holds configuration data for other objects to consume.",
        {
            **_TYPE_META,
            "binaryData": string_map(
                "Binary values by key (base64 in JSON and YAML); keys "
                "must not repeat those in data.",
                fmt="byte",
            ),
            "data": string_map(
                "UTF-8 values by key; keys consist of alphanumerics, '-', '_' or '.'."
            ),
            "immutable": b("If true, data and binaryData cannot be changed any more."),
            "metadata": _META_REF,
        },
        ext={"x-kubernetes-group-version-kind": gvk("ConfigMap")},
    ),
    f"{CORE}.NamespaceCondition": obj(
        "The state of one aspect of a namespace.",
        {
            "lastTransitionTime": ref(f"{META}.Time", "When the status last changed."),
            "message": s("A human-readable explanation."),
            "reason": s("A machine-readable reason in CamelCase."),
            "status": s("True, False or Unknown."),
            "type": s("The condition's type, e.g. NamespaceContentRemaining."),
        },
        required=("type", "status"),
    ),
    f"{CORE}.NamespaceSpec": obj(
        "What a namespace needs before it can be removed.",
        {
            "finalizers": strings(
                "Finalizers that must be cleared before the namespace is removed from storage.",
                **{"x-kubernetes-list-type": "atomic"},
            ),
        },
    ),
    f"{CORE}.NamespaceStatus": obj(
        "The observed state of a namespace.",
        {
            "conditions": {
                "type": "array",
                "items": {"allOf": [{"$ref": f"{CORE}.NamespaceCondition"}], "default": {}},
                "description": "The latest observations of the namespace's state.",
                "x-kubernetes-list-map-keys": ["type"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "type",
                "x-kubernetes-patch-strategy": "merge",
            },
            "phase": s(
                "Active, or Terminating while it is being deleted.", enum=["Active", "Terminating"]
            ),
        },
    ),
    f"{CORE}.Namespace": obj(
        "A scope for names; deleting it deletes everything in it.",
        {
            **_TYPE_META,
            "metadata": _META_REF,
            "spec": ref(f"{CORE}.NamespaceSpec", "What the namespace needs.", default={}),
            "status": ref(f"{CORE}.NamespaceStatus", "The namespace's observed state.", default={}),
        },
        ext={"x-kubernetes-group-version-kind": gvk("Namespace")},
    ),
    f"{CORE}.ObjectReference": obj(
        "A reference to another object.",
        {
            "apiVersion": s("API version of the referent."),
            "fieldPath": s("A part of the object, e.g. a container."),
            "kind": s("Kind of the referent."),
            "name": s("Name of the referent."),
            "namespace": s("Namespace of the referent."),
            "resourceVersion": s("The referent's resourceVersion when the reference was made."),
            "uid": s("UID of the referent."),
        },
        ext={"x-kubernetes-map-type": "atomic"},
    ),
    f"{CORE}.EventSource": obj(
        "Where an event came from.",
        {"component": s("The component that reported it."), "host": s("The node it ran on.")},
    ),
    f"{CORE}.EventSeries": obj(
        "A series of repeating events.",
        {
            "count": i("How many times it happened so far."),
            "lastObservedTime": ref(f"{META}.MicroTime", "When it was last seen."),
        },
    ),
    f"{CORE}.Event": obj(
        "A report of something that happened to an object; events expire after an hour.",
        {
            **_TYPE_META,
            "action": s("What was done (or failed) about the object."),
            "count": i("How many times this event happened."),
            "eventTime": ref(f"{META}.MicroTime", "When the event was first observed."),
            "firstTimestamp": ref(f"{META}.Time", "When the event was first recorded."),
            "involvedObject": ref(
                f"{CORE}.ObjectReference", "The object this event is about.", default={}
            ),
            "lastTimestamp": ref(f"{META}.Time", "When the event was most recently recorded."),
            "message": s("A human-readable description."),
            "metadata": _META_REF,
            "reason": s("A short, machine-readable reason in CamelCase."),
            "related": ref(f"{CORE}.ObjectReference", "A second object involved, if any."),
            "reportingComponent": s("The controller that emitted the event.", default=""),
            "reportingInstance": s("The instance of that controller.", default=""),
            "series": ref(f"{CORE}.EventSeries", "The series this event belongs to, if any."),
            "source": ref(f"{CORE}.EventSource", "The component reporting the event.", default={}),
            "type": s("Normal or Warning."),
        },
        required=("metadata", "involvedObject"),
        ext={"x-kubernetes-group-version-kind": gvk("Event")},
    ),
    f"{CORE}.Service": obj(
        "A network service; kcrypt serves none (the list is always empty).",
        {
            **_TYPE_META,
            "metadata": _META_REF,
            "spec": {"type": "object", "description": "The service's desired behaviour."},
            "status": {"type": "object", "description": "The service's observed state."},
        },
        ext={"x-kubernetes-group-version-kind": gvk("Service")},
    ),
}
"""The top-level kinds, each with its group-version-kind extension."""
