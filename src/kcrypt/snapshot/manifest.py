"""``manifest.json``: what a snapshot holds and which keys its values need.

::

    {"kind": "KcryptSnapshot", "version": 1,
     "name": "on-demand-node1-1764576000", "datastore": "sqlite", "node": "node1",
     "created": "2026-12-01T08:00:00Z", "revision": 4711, "reason": "on-demand",
     "resources": {"secrets": {"aescbc:aescbckey": 95, "identity": 5}, ...},
     "keys": [{"provider": "aescbc", "name": "aescbckey",
               "fingerprint": "sha256:<hex of SHA-256(key)>", "values": 95}],
     "encryptionState": "<the /kcrypt/encryption/state record as stored: token-sealed>",
     "rkestate": false}

Counts and keys are computed from the image itself (never from the live
store), so they describe exactly the bytes in the archive. ``fingerprint``
is ``"unknown"`` for a key no source at hand had when the snapshot was
taken. The encryption state is copied as the datastore held it: sealed with
the server token, so the manifest alone gives no key away.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kcrypt.audit import Classifier, resource_of
from kcrypt.datastore import Datastore
from kcrypt.encryption import STATE_KEY
from kcrypt.snapshot.errors import BadArchive
from kcrypt.snapshot.keyring import KeyRing

__all__ = ["UNKNOWN", "Contents", "KeyNeed", "Manifest", "describe"]

UNKNOWN = "unknown"
REGISTRY = "/registry/"


@dataclass(frozen=True, slots=True)
class KeyNeed:
    provider: str
    name: str
    fingerprint: str
    values: int


@dataclass(frozen=True, slots=True)
class Contents:
    revision: int
    resources: Mapping[str, Mapping[str, int]]
    keys: tuple[KeyNeed, ...]
    encryption_state: str | None
    values: int


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    datastore: str
    node: str
    created: str
    reason: str
    contents: Contents
    rkestate: bool = False

    def to_json(self) -> bytes:
        c = self.contents
        doc: dict[str, Any] = {
            "kind": "KcryptSnapshot",
            "version": 1,
            "name": self.name,
            "datastore": self.datastore,
            "node": self.node,
            "created": self.created,
            "revision": c.revision,
            "reason": self.reason,
            "values": c.values,
            "resources": {r: dict(v) for r, v in c.resources.items()},
            "keys": [
                {
                    "provider": k.provider,
                    "name": k.name,
                    "fingerprint": k.fingerprint,
                    "values": k.values,
                }
                for k in c.keys
            ],
            "encryptionState": c.encryption_state,
            "rkestate": self.rkestate,
        }
        return json.dumps(doc, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
            if doc.get("kind") != "KcryptSnapshot" or doc.get("version") != 1:
                raise BadArchive(
                    f"unknown manifest kind/version {doc.get('kind')}/{doc.get('version')}"
                )
            keys = tuple(
                KeyNeed(str(k["provider"]), str(k["name"]), str(k["fingerprint"]), int(k["values"]))
                for k in doc["keys"]
            )
            contents = Contents(
                revision=int(doc["revision"]),
                resources={
                    str(r): {str(k): int(n) for k, n in v.items()}
                    for r, v in doc["resources"].items()
                },
                keys=keys,
                encryption_state=doc.get("encryptionState"),
                values=int(doc.get("values", 0)),
            )
            return cls(
                name=str(doc["name"]),
                datastore=str(doc["datastore"]),
                node=str(doc["node"]),
                created=str(doc["created"]),
                reason=str(doc.get("reason", "")),
                contents=contents,
                rkestate=bool(doc.get("rkestate", False)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadArchive(f"the snapshot's manifest is unreadable: {exc}") from None

    def need(self, provider: str, name: str) -> KeyNeed | None:
        for k in self.contents.keys:
            if (k.provider, k.name) == (provider, name):
                return k
        return None


async def describe(ds: Datastore, keys: KeyRing, *, page: int = 1000) -> Contents:
    """Count the values of an (image) store per resource and provider:key."""
    revision = await ds.revision()
    classify = Classifier(tuple(dict.fromkeys(k.name for k in keys)))
    per: dict[str, Counter[str]] = {}
    needs: Counter[tuple[str, str]] = Counter()
    values = 0
    after: str | None = None
    while True:
        chunk = await ds.range(REGISTRY, start_after=after, limit=page, revision=revision)
        for kv in chunk.kvs:
            group, resource = resource_of(kv.key)
            kind = classify(kv.value)
            label = "identity" if kind.provider == "identity" else f"{kind.provider}:{kind.key}"
            per.setdefault(f"{resource}.{group}" if group else resource, Counter())[label] += 1
            if kind.provider != "identity":
                needs[(kind.provider, kind.key)] += 1
            values += 1
        if not chunk.more or not chunk.kvs:
            break
        after = chunk.kvs[-1].key
        await asyncio.sleep(0)  # a server taking a snapshot keeps serving between pages
    prints = keys.fingerprints()
    state = await ds.get(STATE_KEY, revision=revision)
    return Contents(
        revision=revision,
        resources={r: dict(sorted(c.items())) for r, c in sorted(per.items())},
        keys=tuple(
            KeyNeed(p, n, prints.get((p, n), UNKNOWN), count)
            for (p, n), count in sorted(needs.items())
        ),
        encryption_state=state.value.decode() if state is not None else None,
        values=values,
    )
