"""Fixtures of the etcd-only tests: a private cluster for destructive tests."""

from __future__ import annotations

from etcd_cluster import etcd3_private

__all__ = ["etcd3_private"]
