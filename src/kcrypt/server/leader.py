"""Lease-based election of the single runner of a cluster-wide job.

Exactly one server re-encrypts at a time: two runners would each rewrite the
same values (harmless but twice the load) and race on the checkpoint. The
election is etcd's classic recipe on the datastore contract:

* a candidate grants a lease (TTL ``ttl``) and tries ``create(key, identity,
  lease=lease)`` -- ``create`` is compared on absence, so at most one wins;
* the holder renews the lease every ``renew_interval`` and checks that the
  key still carries its lease; a failed renewal means leadership is lost and
  the work is cancelled at once (it resumes from its checkpoint elsewhere);
* losers retry every ``retry_interval`` and renew their own lease meanwhile;
* when the holder dies its lease expires, the key goes, and the next
  candidate's ``create`` succeeds; when the work ends the holder revokes the
  lease, so the key goes at once.

Leadership is advisory: the work itself must still use compared writes (the
re-encryption checkpoint is compared on its revision), so a holder that lost
its lease during a long pause cannot overwrite its successor's progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from kcrypt.datastore import Datastore, DatastoreError, KeyExists, LeaseNotFound
from kcrypt.server.errors import ServerError

__all__ = ["REENCRYPT_LEASE_KEY", "LeaderElection", "LeadershipLost"]

log = logging.getLogger("kcrypt.server.leader")

REENCRYPT_LEASE_KEY = "/kcrypt/reencrypt/lease"

T = TypeVar("T")


class LeadershipLost(ServerError):
    """The lease of a running leader expired or was taken away."""


class LeaderElection:
    """Run work on exactly one server of the cluster at a time."""

    def __init__(
        self,
        datastore: Datastore,
        *,
        identity: str,
        key: str = REENCRYPT_LEASE_KEY,
        ttl: int = 15,
        renew_interval: float = 5.0,
        retry_interval: float = 1.0,
    ) -> None:
        if renew_interval >= ttl:
            raise ValueError("renew_interval must be shorter than the lease TTL")
        self._ds = datastore
        self.identity = identity
        self.key = key
        self.ttl = ttl
        self.renew_interval = renew_interval
        self.retry_interval = retry_interval
        self._leading = False

    @property
    def leading(self) -> bool:
        return self._leading

    async def holder(self) -> str | None:
        """The identity of the current leader, if any."""
        kv = await self._ds.get(self.key)
        return kv.value.decode() if kv is not None else None

    async def run_as_leader(self, work: Callable[[], Awaitable[T]]) -> T:
        """Wait to be elected, run ``work`` while the lease holds, then resign.

        Raises :class:`LeadershipLost` (``work`` cancelled) if the lease is lost.
        """
        lease = await self._campaign()
        self._leading = True
        log.debug("%s: %s holds it", self.key, self.identity)
        task: asyncio.Task[T] = asyncio.ensure_future(work())
        renew = asyncio.ensure_future(self._hold(lease))
        try:
            done, _ = await asyncio.wait({task, renew}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            exc = renew.exception()
            raise LeadershipLost(f"{self.identity} lost {self.key}: {exc}")
        finally:
            self._leading = False
            for t in (task, renew):
                if not t.done():
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await t
            with contextlib.suppress(DatastoreError, OSError, asyncio.CancelledError):
                await asyncio.shield(self._ds.revoke_lease(lease))

    async def _campaign(self) -> int:
        lease = await self._ds.grant_lease(self.ttl)
        renewed = time.monotonic()
        waiting_for: str | None = None
        while True:
            try:
                await self._ds.create(self.key, self.identity.encode(), lease=lease)
                return lease
            except KeyExists:
                holder = await self.holder()
                if holder is not None and holder != waiting_for:
                    waiting_for = holder
                    log.info("%s: %s waits for %s to finish", self.key, self.identity, holder)
            except LeaseNotFound:
                lease = await self._ds.grant_lease(self.ttl)
                renewed = time.monotonic()
                continue
            await asyncio.sleep(self.retry_interval)
            if time.monotonic() - renewed >= self.renew_interval:
                try:
                    await self._ds.keepalive(lease)
                except LeaseNotFound:
                    lease = await self._ds.grant_lease(self.ttl)
                renewed = time.monotonic()

    async def _hold(self, lease: int) -> None:
        """Returns (by raising) only when leadership is lost."""
        deadline = time.monotonic() + self.ttl
        while True:
            await asyncio.sleep(self.renew_interval)
            try:
                await self._ds.keepalive(lease)
                kv = await self._ds.get(self.key)
            except LeaseNotFound:
                raise LeadershipLost("the lease expired") from None
            except DatastoreError as exc:  # unreachable: keep trying until the TTL runs out
                if time.monotonic() > deadline:
                    raise LeadershipLost(f"cannot renew the lease: {exc}") from None
                log.warning("%s: renewing the lease failed: %s", self.key, exc)
                continue
            if kv is None or kv.lease != lease:
                raise LeadershipLost("the key was removed or taken over")
            deadline = time.monotonic() + self.ttl
