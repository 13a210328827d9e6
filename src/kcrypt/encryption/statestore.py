"""The encryption state record in the datastore, written with compare-and-swap.

Key ``/kcrypt/encryption/state``; value JSON (one line, UTF-8)::

    {"version": 1,              record layout version
     "generation": 7,           +1 on every accepted command / controller step
     "stage": "rotate",         k3s stage label of the last accepted command
     "provider": "aescbc",      --secrets-encryption-provider when it was written
     "configHash": "<hex>",     sha256 of the config file bytes (k3s's hash)
     "activated": 1767225600.0, when the write key started writing (0: unknown)
     "sealing": "scrypt-aesgcm",how "config" and "retired" are protected
     "config": "<sealed>",      the exact encryption-config.json bytes
     "retired": "<sealed>",     keys removed after a proof (JSON list), or ""
     "job": null | {"configHash", "removeKey", "afterStage", "started", "error",
                    "promote", "removed", "scheduled"},
     "updated": 1767225600.0}

The record is written *before* any value is rewritten under a new key (k3s
#13763: a key known only to one server's disk is a key that can be lost).
``sealing`` names the protection of the key-bearing fields
(:mod:`kcrypt.encryption.sealing`): a server seals them with its token, so
the datastore alone never gives away the keys and a server with another
token cannot open them (the join check). Fields this version does not know
are ignored; fields it adds have defaults, so older records still load.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.encryption.errors import StateConflict, UnsupportedConfig
from kcrypt.encryption.model import ConfigKey, EncryptionState, ReencryptJob, RetiredKey
from kcrypt.encryption.sealing import NoSealing, StateSealer
from kcrypt.encryption.stages import Stage
from kcrypt.sensitive import SecretBytes

__all__ = ["STATE_KEY", "StateStore", "decode_state", "encode_state", "record_sealing"]

STATE_KEY = "/kcrypt/encryption/state"


def _job(job: ReencryptJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "configHash": job.config_hash,
        "removeKey": job.remove_key,
        "afterStage": job.after_stage.value,
        "started": job.started,
        "error": job.error,
        "promote": job.promote,
        "removed": job.removed,
        "scheduled": job.scheduled,
    }


def _retired(keys: tuple[RetiredKey, ...], sealer: StateSealer) -> str:
    if not keys:
        return ""
    doc = [
        {
            "kind": r.kind,
            "name": r.key.name,
            "secret": base64.b64encode(r.key.secret.reveal()).decode(),
            "retired": r.retired,
        }
        for r in keys
    ]
    return sealer.seal(json.dumps(doc, separators=(",", ":")).encode())


def _unretired(text: str, sealer: StateSealer) -> tuple[RetiredKey, ...]:
    if not text:
        return ()
    doc = json.loads(sealer.unseal(text))
    return tuple(
        RetiredKey(
            kind=str(d["kind"]),
            key=ConfigKey(str(d["name"]), SecretBytes(base64.b64decode(d["secret"]))),
            retired=float(d["retired"]),
        )
        for d in doc
    )


def encode_state(state: EncryptionState, *, sealer: StateSealer) -> bytes:
    doc = {
        "version": 1,
        "generation": state.generation,
        "stage": state.stage.value,
        "provider": state.provider,
        "configHash": state.config_hash,
        "activated": state.activated,
        "sealing": sealer.name,
        "config": sealer.seal(state.config),
        "retired": _retired(state.retired, sealer),
        "job": _job(state.job),
        "updated": time.time(),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def record_sealing(data: bytes) -> str:
    """The ``sealing`` a stored record names ("" when unreadable)."""
    try:
        return str(json.loads(data).get("sealing", ""))
    except (ValueError, AttributeError):
        return ""


def decode_state(data: bytes, *, sealer: StateSealer) -> EncryptionState:
    try:
        doc = json.loads(data)
        if doc.get("version") != 1 or doc.get("sealing") != sealer.name:
            raise UnsupportedConfig(
                f"encryption state record: version {doc.get('version')} sealing "
                f"{doc.get('sealing')!r} not understood (expected 1, {sealer.name!r})"
            )
        raw = doc.get("job")
        job = None
        if raw:
            job = ReencryptJob(
                config_hash=str(raw["configHash"]),
                remove_key=bool(raw["removeKey"]),
                after_stage=Stage(raw["afterStage"]),
                started=float(raw["started"]),
                error=str(raw.get("error", "")),
                promote=bool(raw.get("promote", False)),
                removed=bool(raw.get("removed", False)),
                scheduled=bool(raw.get("scheduled", False)),
            )
        return EncryptionState(
            config=sealer.unseal(doc["config"]),
            stage=Stage(doc["stage"]),
            config_hash=str(doc["configHash"]),
            provider=doc["provider"],
            job=job,
            generation=int(doc["generation"]),
            activated=float(doc.get("activated", 0.0)),
            retired=_unretired(str(doc.get("retired") or ""), sealer),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise UnsupportedConfig(f"encryption state record is unreadable: {exc}") from None


class StateStore:
    """Load and compare-and-swap the state record."""

    def __init__(
        self, datastore: Datastore, *, key: str = STATE_KEY, sealer: StateSealer | None = None
    ) -> None:
        self._ds = datastore
        self.key = key
        self.sealer: StateSealer = sealer or NoSealing()

    async def load(self) -> tuple[EncryptionState | None, int]:
        """The state and its mod_revision (0 when there is no record yet)."""
        kv = await self._ds.get(self.key)
        if kv is None:
            return None, 0
        return decode_state(kv.value, sealer=self.sealer), kv.mod_revision

    async def save(self, state: EncryptionState, *, mod_revision: int) -> int:
        """Write ``state`` if the record is still at ``mod_revision``; the new revision."""
        value = encode_state(state, sealer=self.sealer)
        result = await self._ds.txn_put([PutIf(self.key, value, mod_revision)])
        if not result.succeeded[0]:
            raise StateConflict(
                "the encryption state changed concurrently (another command or server); retry"
            )
        return result.revisions[0]
