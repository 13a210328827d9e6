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

The record is rewritten on each change of what the server applied and on
every renewal (so "last seen" of a down server is at most one interval old);
each write is compared on the record's revision, because only its own server
writes it and a failed compare means an operator deleted it.

:func:`convergence` is the pure gate (library-go's "all apiservers on one
revision" check): every decision that must not run before every live server
can read a key calls it with the desired config hash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from kcrypt import __version__
from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.datastore.errors import DatastoreError, LeaseNotFound

__all__ = [
    "LIVE_PREFIX",
    "SERVERS_PREFIX",
    "Convergence",
    "ServerPublisher",
    "ServerRecord",
    "ServerView",
    "convergence",
    "list_servers",
]

log = logging.getLogger("kcrypt.encryption.servers")

SERVERS_PREFIX = "/kcrypt/servers/"
LIVE_PREFIX = "/kcrypt/servers-live/"
DEFAULT_TTL = 15
DEFAULT_RENEW = 5.0


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
    ``hash_error``: k3s's ``hash does not match between <a> and <b>`` when
    servers disagree (a down server always disagrees), else None.
    """

    all_applied: bool
    lagging: tuple[str, ...]
    down: tuple[str, ...]
    hash_error: str | None

    @property
    def agreed(self) -> bool:
        """Nothing to report: every server listed is live, applied and agrees."""
        return self.all_applied and not self.down and self.hash_error is None


def convergence(servers: Sequence[ServerView], desired_hash: str) -> Convergence:
    """The gate, from facts only (pure; table-tested).

    Servers are compared in node-name order, as k3s compares nodes in list
    order: the first live server is the reference; the first one whose
    ``<stage>-<hash>`` differs (or that is down, or reports a conflict)
    names the mismatch. When the servers agree with each other but not with
    ``desired_hash`` the first lagging one is named against ``datastore``.
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
        for other in ordered:
            if other is ref:
                continue
            if (
                not other.live
                or other.record.conflict
                or other.record.annotation != ref.record.annotation
            ):
                error = f"hash does not match between {ref.node} and {other.node}"
                break
        if error is None and ref.record.conflict:
            error = f"hash does not match between {ref.node} and datastore"
        if error is None and lagging:
            error = f"hash does not match between {lagging[0]} and datastore"
    elif down:
        error = f"hash does not match between datastore and {down[0]}"
    return Convergence(not lagging, lagging, down, error)


async def list_servers(datastore: Datastore) -> list[ServerView]:
    """Every server record, each with its liveness."""
    records = await datastore.range(SERVERS_PREFIX)
    markers = await datastore.range(LIVE_PREFIX)
    live = {kv.key[len(LIVE_PREFIX) :] for kv in markers.kvs}
    views: list[ServerView] = []
    for kv in records.kvs:
        record = ServerRecord.decode(kv.value)
        if record is not None:
            views.append(ServerView(record, record.node in live))
    return views


class ServerPublisher:
    """This server's record and lease: :meth:`publish` on change, :meth:`run` to stay live."""

    def __init__(
        self,
        datastore: Datastore,
        *,
        node: str,
        ttl: int = DEFAULT_TTL,
        renew_interval: float = DEFAULT_RENEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if "/" in node or not node:
            raise ValueError(f"invalid node name {node!r}")
        self._ds = datastore
        self.node = node
        self.ttl = ttl
        self.renew_interval = renew_interval
        self._clock = clock
        self._record = ServerRecord(node, started=clock())
        self._rev = 0
        self._lease = 0
        self._lock = asyncio.Lock()

    @property
    def key(self) -> str:
        return SERVERS_PREFIX + self.node

    @property
    def live_key(self) -> str:
        return LIVE_PREFIX + self.node

    @property
    def record(self) -> ServerRecord:
        return self._record

    async def previous(self) -> ServerRecord | None:
        """What this node published before this process started (None: never)."""
        kv = await self._ds.get(self.key)
        if kv is None:
            return None
        self._rev = kv.mod_revision
        return ServerRecord.decode(kv.value)

    async def publish(self, **changes: object) -> ServerRecord:
        """Write the record with ``changes`` (``config_hash``, ``stage``, ...) and mark live."""
        async with self._lock:
            self._record = replace(self._record, **changes)  # type: ignore[arg-type]
            await self._write()
            await self._ensure_live()
            return self._record

    async def run(self) -> None:
        """Renew the lease and the record every ``renew_interval`` until cancelled."""
        while True:
            await asyncio.sleep(self.renew_interval)
            try:
                async with self._lock:
                    await self._ensure_live()
                    await self._write()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the datastore may be away; keep trying
                log.warning("cannot renew server record of %s: %s", self.node, exc)

    async def close(self) -> None:
        """Drop the liveness marker at once (a clean stop is not a crash; the record stays)."""
        lease, self._lease = self._lease, 0
        if lease:
            try:
                async with self._lock:
                    self._record = replace(self._record, last_seen=self._clock())
                    await self._write()
                await self._ds.revoke_lease(lease)
            except (DatastoreError, OSError) as exc:
                log.debug("revoking the lease of %s: %s", self.node, exc)

    async def _write(self) -> None:
        self._record = replace(self._record, last_seen=self._clock())
        value = self._record.encode()
        for _ in range(3):
            result = await self._ds.txn_put([PutIf(self.key, value, self._rev)])
            if result.succeeded[0]:
                kv = await self._ds.get(self.key)
                self._rev = kv.mod_revision if kv is not None else result.revision
                return
            kv = await self._ds.get(self.key)  # deleted by an operator, or a stale revision
            self._rev = kv.mod_revision if kv is not None else 0
        raise DatastoreError(f"cannot write {self.key}: it keeps changing")

    async def _ensure_live(self) -> None:
        if self._lease:
            try:
                await self._ds.keepalive(self._lease)
                if await self._ds.get(self.live_key) is not None:
                    return
            except LeaseNotFound:
                log.warning("the lease of %s expired; taking a new one", self.node)
                self._lease = 0
        if not self._lease:
            self._lease = await self._ds.grant_lease(self.ttl)
        kv = await self._ds.get(self.live_key)
        rev = kv.mod_revision if kv is not None else 0
        await self._ds.txn_put([PutIf(self.live_key, self.node.encode(), rev, lease=self._lease)])
