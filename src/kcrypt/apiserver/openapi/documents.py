"""The OpenAPI documents: v3 per group-version, v2 as one document (JSON and protobuf).

The v3 ``api/v1`` document is what ``kubectl explain`` and kubectl's
field-validation probe read: paths whose operations carry
``x-kubernetes-group-version-kind`` (and, on PATCH, the ``fieldValidation``
query parameter, which tells kubectl the server validates fields itself), and
``components.schemas`` carrying the same extension. The v2 document holds the
same schemas as ``definitions``; kubectl reads it as gnostic protobuf for its
client-side validation when v3 cannot answer (a ``List`` of objects) and for
``kubectl explain --output=plaintext-openapiv2``.
"""

from __future__ import annotations

from typing import Any

import yaml

from kcrypt.apiserver.openapi.proto import openapiv2_pb2 as pb
from kcrypt.apiserver.openapi.schemas import CORE, KIND_SCHEMAS, SCHEMAS
from kcrypt.apiserver.served import CORE as SERVED
from kcrypt.apiserver.served import Served
from kcrypt.apiserver.version import VERSION_INFO

__all__ = ["v2_document", "v2_protobuf", "v3_core_document"]

Doc = dict[str, Any]
_ALL = {**SCHEMAS, **KIND_SCHEMAS}


def _refs(schema: Any, prefix: str) -> Any:
    """A copy of ``schema`` with each ``{"$ref": Name}`` turned into ``prefix + Name``."""
    if isinstance(schema, dict):
        return {k: (prefix + v if k == "$ref" else _refs(v, prefix)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_refs(v, prefix) for v in schema]
    return schema


def _query(name: str, description: str, type_: str = "string") -> Doc:
    return {"name": name, "in": "query", "description": description, "schema": {"type": type_}}


_DRY_RUN = _query("dryRun", "When present (All), the request is processed but not persisted.")
_MANAGER = _query("fieldManager", "The name of the actor making the change.")
_VALIDATION = _query(
    "fieldValidation", "Ignore, Warn (default) or Strict: what to do with unknown fields."
)
_FORCE = _query("force", "Take conflicting fields over in an apply request.", "boolean")


def _operation(s: Served, action: str, verb: str, schema: str) -> Doc:
    kind_ref = {"$ref": f"#/components/schemas/{schema}"}
    op: Doc = {
        "operationId": f"{verb}CoreV1{s.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": "", "kind": s.kind, "version": "v1"},
        "responses": {"200": {"content": {"application/json": {"schema": kind_ref}}}},
    }
    if action in ("post", "put", "patch"):
        op["parameters"] = [_DRY_RUN, _MANAGER, _VALIDATION] + (
            [_FORCE] if action == "patch" else []
        )
        media = (
            [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ]
            if action == "patch"
            else ["application/json"]
        )
        schema_of = {"type": "object"} if action == "patch" else kind_ref
        op["requestBody"] = {"content": {m: {"schema": schema_of} for m in media}}
    return op


def _paths(s: Served) -> dict[str, Doc]:
    schema = f"{CORE}.{s.kind}"
    base = (
        f"/api/v1/namespaces/{{namespace}}/{s.resource}"
        if s.namespaced
        else f"/api/v1/{s.resource}"
    )
    writes = s.stored
    collection: Doc = {"get": _operation(s, "list", "list", schema)}
    item: Doc = {"get": _operation(s, "get", "read", schema)}
    if writes:
        collection["post"] = _operation(s, "post", "create", schema)
        item["put"] = _operation(s, "put", "replace", schema)
        item["patch"] = _operation(s, "patch", "patch", schema)
        item["delete"] = _operation(s, "delete", "delete", schema)
    paths = {base: collection, f"{base}/{{name}}": item}
    if s.namespaced:
        paths[f"/api/v1/{s.resource}"] = {
            "get": _operation(s, "list", "listForAllNamespaces", schema)
        }
    methods = {"get": ("get", "read"), "update": ("put", "replace"), "patch": ("patch", "patch")}
    for sub in s.subresources:
        paths[f"{base}/{{name}}/{sub.name}"] = {
            methods[verb][0]: _operation(
                s, methods[verb][0], f"{methods[verb][1]}{sub.name.title()}", schema
            )
            for verb in sub.verbs
        }
    return paths


def v3_core_document() -> Doc:
    paths: Doc = {}
    for s in SERVED:
        paths.update(_paths(s))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {k: _refs(v, "#/components/schemas/") for k, v in _ALL.items()}},
    }


def _v2_schema(schema: Any) -> Any:
    """v3 ``allOf: [$ref]`` wrappers become plain v2 references (beside the description)."""
    if not isinstance(schema, dict):
        return schema
    out: Doc = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _v2_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _v2_schema(value)
        elif key == "allOf":
            out[key] = [_v2_schema(v) for v in value]
        else:
            out[key] = value
    if len(out.get("allOf", [])) == 1:
        wrapped = out.pop("allOf")[0]
        out.pop("default", None)
        out.update(wrapped)
    return out


def v2_document() -> Doc:
    definitions = {k: _v2_schema(_refs(v, "#/definitions/")) for k, v in _ALL.items()}
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": {},
        "definitions": definitions,
    }


def _any(value: Any) -> pb.Any:
    return pb.Any(yaml=yaml.safe_dump(value, default_flow_style=False))


def _schema_pb(schema: Doc) -> pb.Schema:
    out = pb.Schema(description=schema.get("description", ""), format=schema.get("format", ""))
    setattr(out, "_ref", schema.get("$ref", ""))  # noqa: B010 (a field named _ref)
    if "type" in schema:
        out.type.value.append(schema["type"])
    out.required.extend(schema.get("required", []))
    for value in schema.get("enum", []):
        out.enum.append(_any(value))
    if "default" in schema:
        out.default.CopyFrom(_any(schema["default"]))
    if "items" in schema:
        out.items.schema.append(_schema_pb(schema["items"]))
    if isinstance(schema.get("additionalProperties"), dict):
        out.additional_properties.schema.CopyFrom(_schema_pb(schema["additionalProperties"]))
    for name, sub in schema.get("properties", {}).items():
        out.properties.additional_properties.append(
            pb.NamedSchema(name=name, value=_schema_pb(sub))
        )
    for key, value in schema.items():
        if key.startswith("x-kubernetes-"):
            out.vendor_extension.append(pb.NamedAny(name=key, value=_any(value)))
    return out


def v2_protobuf() -> bytes:
    doc = v2_document()
    message = pb.Document(
        swagger="2.0", info=pb.Info(title=doc["info"]["title"], version=doc["info"]["version"])
    )
    for name, schema in sorted(doc["definitions"].items()):
        message.definitions.additional_properties.append(
            pb.NamedSchema(name=name, value=_schema_pb(schema))
        )
    data: bytes = message.SerializeToString(deterministic=True)
    return data
