"""The controller's current step, stored so that every server's ``status`` shows it.

Key ``/kcrypt/encryption/controller``; value JSON::

    {"action": "wait", "reason": "servers-not-converged",
     "message": "waiting for s2 to apply config 3f1a2b4c5d6e",
     "node": "s1", "since": 1767225600.0}

Written only when the step changes (a pass's page does not change it), with
compare-and-swap; several servers computing the same step from the same
facts write it once. No key material: messages name keys and hashes only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.encryption.steps import Step

__all__ = ["CONTROLLER_KEY", "StepRecord", "StepRecorder", "load_step"]

CONTROLLER_KEY = "/kcrypt/encryption/controller"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    action: str
    reason: str
    message: str
    node: str
    since: float

    def same_step(self, step: Step) -> bool:
        return (self.action, self.reason, self.message) == (
            step.action.value,
            step.reason,
            step.message,
        )

    @classmethod
    def decode(cls, data: bytes) -> StepRecord | None:
        try:
            doc = json.loads(data)
            return cls(**{k: doc[k] for k in ("action", "reason", "message", "node", "since")})
        except (ValueError, KeyError, TypeError):
            return None


async def load_step(datastore: Datastore) -> StepRecord | None:
    kv = await datastore.get(CONTROLLER_KEY)
    return StepRecord.decode(kv.value) if kv is not None else None


class StepRecorder:
    def __init__(
        self, datastore: Datastore, *, node: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._ds = datastore
        self._node = node
        self._clock = clock
        self._seen: tuple[StepRecord | None, int] | None = None

    def forget(self) -> None:
        """The stored record changed (a watch saw it): read it before the next write."""
        self._seen = None

    async def record(self, step: Step) -> None:
        """Store ``step`` unless it is the stored one (no write, usually no read)."""
        if self._seen is None:
            kv = await self._ds.get(CONTROLLER_KEY)
            self._seen = (StepRecord.decode(kv.value), kv.mod_revision) if kv else (None, 0)
        current, rev = self._seen
        if current is not None and current.same_step(step):
            return
        record = StepRecord(
            action=step.action.value,
            reason=step.reason,
            message=step.message,
            node=self._node,
            since=self._clock(),
        )
        data = json.dumps(asdict(record), separators=(",", ":")).encode()
        result = await self._ds.txn_put([PutIf(CONTROLLER_KEY, data, rev)])
        if result.succeeded[0]:
            self._seen = (record, result.revisions[0])
        else:
            self._seen = None  # another server wrote first: read it next time
