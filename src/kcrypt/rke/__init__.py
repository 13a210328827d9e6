"""The RKE workflow: cluster.yml, cluster.rkestate, ``up``, ``encrypt rotate-key``, ``rewrite``.

kcrypt drives API servers from outside, as RKE drives kube-apiservers: it
writes their ``--encryption-provider-config`` files (locally or over SSH),
proves each server loaded them (``/metrics``, or a restart and ``/readyz``),
and rewrites objects through the Kubernetes API. It never reaches into a
server's datastore, so it works against kube-apiservers and kcrypt servers
alike. See docs/rke.md.
"""

from __future__ import annotations

from kcrypt.rke.clusterfile import ClusterSpec, EncryptionSpec, NodeSpec, load_cluster_file
from kcrypt.rke.errors import (
    ClusterFileError,
    KubeAPIError,
    NodeError,
    NotLoaded,
    Refused,
    RewriteError,
    RkeError,
    StateFileError,
)
from kcrypt.rke.rewrite import RewriteProgress, RewriteResult, RewriteSettings
from kcrypt.rke.state import StateFile
from kcrypt.rke.up import UpOptions, UpResult, run_up

__all__ = [
    "ClusterFileError",
    "ClusterSpec",
    "EncryptionSpec",
    "KubeAPIError",
    "NodeError",
    "NodeSpec",
    "NotLoaded",
    "Refused",
    "RewriteError",
    "RewriteProgress",
    "RewriteResult",
    "RewriteSettings",
    "RkeError",
    "StateFile",
    "StateFileError",
    "UpOptions",
    "UpResult",
    "load_cluster_file",
    "run_up",
]
