#!/usr/bin/env bash
# Regenerate the vendored protobuf/gRPC Python modules from the .proto files
# in the tree. Idempotent: run it after editing any .proto and commit both.
# Each component has its own section; add yours below, don't edit others'.
# Protos are compiled with -Isrc so generated imports resolve as kcrypt.*.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC=(.venv/bin/python -m grpc_tools.protoc -Isrc)

# --- etcd v3 API subset (kcrypt.datastore.etcd.proto) ---
ETCD=src/kcrypt/datastore/etcd/proto
"${PROTOC[@]}" --python_out=src --pyi_out=src --grpc_python_out=src \
  "$ETCD/kv.proto" "$ETCD/rpc.proto"

# --- Kubernetes object subset (kcrypt.codec.proto): runtime.Unknown, meta/v1, core/v1 ---
CODEC=src/kcrypt/codec/proto
"${PROTOC[@]}" --python_out=src --pyi_out=src \
  "$CODEC/runtime.proto" "$CODEC/meta.proto" "$CODEC/core.proto" "$CODEC/reviews.proto"

# --- KMS v2 EncryptedObject, the etcd value body (kcrypt.envelope.kms.proto) ---
ENVELOPE=src/kcrypt/envelope/kms/proto
"${PROTOC[@]}" --python_out=src --pyi_out=src "$ENVELOPE/kmsv2.proto"

# --- KMS plugin APIs v2 and v1beta1, client and reference plugin (kcrypt.kms.proto) ---
KMS=src/kcrypt/kms/proto
"${PROTOC[@]}" --python_out=src --pyi_out=src --grpc_python_out=src \
  "$KMS/kmsv2_service.proto" "$KMS/kmsv1beta1_service.proto"
# --- OpenAPI v2 document subset (kcrypt.apiserver.openapi.proto), gnostic's format ---
OPENAPI=src/kcrypt/apiserver/openapi/proto
"${PROTOC[@]}" --python_out=src --pyi_out=src "$OPENAPI/openapiv2.proto"
