"""What an audit found, per resource x provider x key, as frozen data.

One :class:`KeyUse` row per (resource, provider, key) seen in the datastore:

* ``count``: current values under that provider and key (``provider``
  ``identity`` and ``key`` "" for plaintext);
* ``stale``: of those, values readable but not under the resource's write
  key (the next update, or a ``reencrypt``, rewrites them);
* ``plaintext``: plaintext values of a resource the config encrypts;
* ``undecryptable``: values no key of the config can read, with each
  ``reasons`` text and how many values have it;
* ``history`` / ``history_old``: older revisions the store still keeps under
  that provider and key, and how many of those are not under the write key
  (old ciphertexts, or plaintext the config would encrypt): they outlive a
  rotation until the history is compacted.

:attr:`Report.left` is what ``kcrypt audit`` turns into exit status 1: some
value, current or historical, is not where the config says it should be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KeyUse", "Report"]


@dataclass(frozen=True, slots=True)
class KeyUse:
    resource: str
    provider: str
    key: str
    write: bool
    """This provider and key write new values of ``resource``."""
    count: int = 0
    stale: int = 0
    plaintext: int = 0
    undecryptable: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    history: int = 0
    history_old: int = 0

    @property
    def left(self) -> int:
        return self.stale + self.plaintext + self.undecryptable + self.history_old

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "provider": self.provider,
            "key": self.key,
            "write": self.write,
            "count": self.count,
            "stale": self.stale,
            "plaintext": self.plaintext,
            "undecryptable": self.undecryptable,
            "reasons": dict(self.reasons),
            "history": self.history,
            "historyOld": self.history_old,
        }


@dataclass(frozen=True, slots=True)
class Report:
    source: str
    """The datastore read (endpoint without credentials) or the server asked."""
    revision: int
    config_hash: str
    rows: tuple[KeyUse, ...]
    values: int
    """Current values examined."""
    history_values: int
    """Older revisions examined."""
    elapsed: float = 0.0

    @property
    def left(self) -> bool:
        return any(r.left for r in self.rows)

    def totals(self) -> dict[str, int]:
        keys = ("stale", "plaintext", "undecryptable", "history_old")
        return {k: sum(getattr(r, k) for r in self.rows) for k in keys}

    def to_json(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "source": self.source,
            "revision": self.revision,
            "configHash": self.config_hash,
            "values": self.values,
            "historyValues": self.history_values,
            "elapsedSeconds": round(self.elapsed, 3),
            "left": self.left,
            "totals": {
                "stale": totals["stale"],
                "plaintext": totals["plaintext"],
                "undecryptable": totals["undecryptable"],
                "historyOld": totals["history_old"],
            },
            "rows": [r.to_json() for r in self.rows],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Report:
        """A report a server sent (``kcrypt audit --server``)."""
        rows = tuple(
            KeyUse(
                resource=str(r["resource"]),
                provider=str(r["provider"]),
                key=str(r["key"]),
                write=bool(r["write"]),
                count=int(r["count"]),
                stale=int(r["stale"]),
                plaintext=int(r["plaintext"]),
                undecryptable=int(r["undecryptable"]),
                reasons={str(k): int(v) for k, v in dict(r.get("reasons") or {}).items()},
                history=int(r["history"]),
                history_old=int(r["historyOld"]),
            )
            for r in doc.get("rows") or []
        )
        return cls(
            source=str(doc.get("source", "")),
            revision=int(doc.get("revision", 0)),
            config_hash=str(doc.get("configHash", "")),
            rows=rows,
            values=int(doc.get("values", 0)),
            history_values=int(doc.get("historyValues", 0)),
            elapsed=float(doc.get("elapsedSeconds", 0.0)),
        )
