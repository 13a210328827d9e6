"""One record per server, liveness by lease, and the "all servers converged" gate.

k3s servers exchange their applied config only through a Node annotation
``<stage>-<sha256 of the local file>`` and compare those (research note
§3.1). kcrypt servers publish the same facts in the datastore:

* ``/kcrypt/servers/<node>`` -- :class:`ServerRecord` JSON (node, applied
  config hash, stage, state generation, kcrypt version, start and last-seen
  times, a local-file conflict if any). Persistent: a server that dies stays
  listed, so it can be reported as *down* (k3s keeps a dead Node and its
  annotation too). An operator forgets a server for good by deleting its
  record (``etcdctl del /kcrypt/servers/<node>``) -- the equivalent of
  ``kubectl delete node``.
* ``/kcrypt/servers-live/<node>`` -- a marker put with a lease (TTL 15 s,
  renewed every 5 s): when the server dies, the lease expires and the
  marker goes. Live = marker present.

This module is pure; :mod:`kcrypt.encryption.publisher` writes and reads the
records.

:func:`convergence` is the pure gate (library-go's "all apiservers on one
revision" check): every decision that must not run before every live server
can read a key calls it with the desired config hash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from kcrypt import __version__

__all__ = [
    "LIVE_PREFIX",
    "SERVERS_PREFIX",
    "Convergence",
    "ServerRecord",
    "ServerView",
    "convergence",
]

SERVERS_PREFIX = "/kcrypt/servers/"
LIVE_PREFIX = "/kcrypt/servers-live/"


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """What one server says about itself (no key material, no token)."""

    node: str
    config_hash: str = ""
    """sha256 hex of the config this server applied ("" = none)."""
    stage: str = ""
    """k3s stage label of the state this server applied."""
    generation: int = 0
    """Generation of the encryption state record this server applied."""
    version: str = __version__
    started: float = 0.0
    last_seen: float = 0.0
    conflict: str = ""
    """Why this server refuses to apply the cluster's config ("" = it does not)."""

    @property
    def annotation(self) -> str:
        """k3s's ``<stage>-<hash>`` (empty when nothing is applied)."""
        return f"{self.stage}-{self.config_hash}" if self.config_hash else ""

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> ServerRecord | None:
        try:
            doc = json.loads(data)
            fields = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
            return cls(**fields)
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True, slots=True)
class ServerView:
    """A record and whether its server is live (its lease marker exists)."""

    record: ServerRecord
    live: bool

    @property
    def node(self) -> str:
        return self.record.node


@dataclass(frozen=True, slots=True)
class Convergence:
    """Where the servers stand against a desired config hash.

    ``all_applied``: every live server applied the desired hash without a
    conflict (vacuously true with no live server). ``lagging``: live servers
    that did not; ``down``: listed servers whose lease expired.
    ``hash_error``: why the servers do not agree, or None: k3s's ``hash does
    not match between <a> and <b>`` for a real mismatch, ``<node> is down
    (last seen <time>)`` when every live server agrees but one is down.
    """

    all_applied: bool
    lagging: tuple[str, ...]
    down: tuple[str, ...]
    hash_error: str | None

    @property
    def agreed(self) -> bool:
        """Nothing to report: every server listed is live, applied and agrees."""
        return self.all_applied and not self.down and self.hash_error is None


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else "never"


def convergence(servers: Sequence[ServerView], desired_hash: str) -> Convergence:
    """The gate, from facts only (pure; table-tested).

    Live servers are compared in node-name order, as k3s compares nodes in
    list order: the first live server is the reference; the first one whose
    ``<stage>-<hash>`` differs (or that reports a conflict) names the
    mismatch. When the live servers agree with each other but not with
    ``desired_hash`` the first lagging one is named against ``datastore``.
    A down server is named as down, with when it was last seen, never as a
    hash mismatch: its hash may well match.
    """
    ordered = sorted(servers, key=lambda s: s.node)
    live = [s for s in ordered if s.live]
    down = tuple(s.node for s in ordered if not s.live)
    lagging = tuple(
        s.node for s in live if s.record.config_hash != desired_hash or s.record.conflict
    )
    error: str | None = None
    if live:
        ref = live[0]
        for other in live[1:]:
            if other.record.conflict or other.record.annotation != ref.record.annotation:
                error = f"hash does not match between {ref.node} and {other.node}"
                break
        if error is None and ref.record.conflict:
            error = f"hash does not match between {ref.node} and datastore"
        if error is None and lagging:
            error = f"hash does not match between {lagging[0]} and datastore"
    if error is None and down:
        error = "; ".join(
            f"{s.node} is down (last seen {_rfc3339(s.record.last_seen)})"
            for s in ordered
            if not s.live
        )
    return Convergence(not lagging, lagging, down, error)
