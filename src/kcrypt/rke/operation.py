"""A change in progress, as stored in the state file (``kcrypt.operation``).

Everything a rerun needs is in the record, rendered once: the phase files'
bytes (so a rerun deploys exactly what the first run deployed, hash for
hash), which resource rules to rewrite and when, how far it got, and what to
record as RKE's ``currentState`` when it is done. It is written before the
first byte reaches a node.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from kcrypt.config import dump_yaml
from kcrypt.rke.desired import Desired
from kcrypt.rke.transition import Plan, equivalent

__all__ = ["new_operation", "phase_bytes"]


def new_operation(
    desired: Desired,
    plan: Plan,
    *,
    rke: Mapping[str, Any],
    sync: bytes | None = None,
) -> dict[str, Any]:
    """``sync``: the current config, first re-deployed to nodes that lack it."""
    assert desired.config is not None and desired.rendered is not None
    phases: list[dict[str, str]] = []
    if sync is not None:
        phases.append({"name": "sync", "config": sync.decode()})
    for phase in plan.phases:
        same = equivalent(phase.config, desired.config)
        data = desired.rendered if same else dump_yaml(phase.config)
        phases.append({"name": phase.name, "config": data.decode()})
    offset = 1 if sync is not None else 0
    return {
        "id": secrets.token_hex(8),
        "mode": desired.mode,
        "target": desired.rendered.decode(),
        "rke": dict(rke),
        "phases": phases,
        "rewrite": list(plan.rewrite),
        "rewriteAt": plan.rewrite_at + offset,
        "next": 0,
        "rewritten": not plan.rewrite,
        "newKeys": list(desired.new_keys),
    }


def phase_bytes(op: Mapping[str, Any], index: int) -> bytes:
    return str(op["phases"][index]["config"]).encode()
