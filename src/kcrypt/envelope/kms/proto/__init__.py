"""Generated protobuf modules (scripts/gen-protos.sh); do not edit the *_pb2 files."""
