"""The etcd engine: the datastore contract over etcd's v3 gRPC API (HA).

The only package of the datastore layer that imports grpc.
"""

from kcrypt.datastore.etcd.connect import open_etcd
from kcrypt.datastore.etcd.engine import EtcdDatastore

__all__ = ["EtcdDatastore", "open_etcd"]
