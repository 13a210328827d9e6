"""The encryption state record in the datastore, written with compare-and-swap.

Key ``/kcrypt/encryption/state``; value JSON (one line, UTF-8)::

    {"version": 1,              record layout version
     "generation": 7,           +1 on every accepted command / pass outcome
     "stage": "rotate",         k3s stage label of the last accepted command
     "provider": "aescbc",      --secrets-encryption-provider when it was written
     "configHash": "<hex>",     sha256 of the config file bytes (k3s's hash)
     "sealing": "none",         how "config" is protected (see below)
     "config": "<base64>",      the exact encryption-config.json bytes
     "job": null | {"configHash", "removeKey", "afterStage", "started", "error"},
     "updated": 1767225600.0}

The record is written *before* any value is rewritten under a new key (k3s
#13763: a key known only to one server's disk is a key that can be lost).

``sealing`` names the protection of ``config``: a server seals it with a key
derived from its token (``"hkdf-sha256-aesgcm"``,
:mod:`kcrypt.encryption.sealing`), so the datastore alone never gives away
the keys and a server with another token cannot open it (the join check).
``"none"`` (base64) is what :class:`NoSealing` writes for tests and what
servers wrote before HA; a server re-seals such a record at start
(:func:`kcrypt.encryption.cluster.reseal_unsealed`). Per-server records
live under ``/kcrypt/servers/<node>`` (:mod:`kcrypt.encryption.servers`).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Protocol

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.encryption.errors import StateConflict, UnsupportedConfig
from kcrypt.encryption.model import EncryptionState, ReencryptJob
from kcrypt.encryption.stages import Stage

__all__ = ["STATE_KEY", "NoSealing", "Sealer", "StateStore", "decode_state", "encode_state"]

STATE_KEY = "/kcrypt/encryption/state"


class Sealer(Protocol):
    name: str

    def seal(self, data: bytes) -> str: ...

    def unseal(self, text: str) -> bytes: ...


class NoSealing:
    name = "none"

    def seal(self, data: bytes) -> str:
        return base64.b64encode(data).decode()

    def unseal(self, text: str) -> bytes:
        return base64.b64decode(text)


def encode_state(state: EncryptionState, *, sealer: Sealer) -> bytes:
    job: dict[str, Any] | None = None
    if state.job is not None:
        job = {
            "configHash": state.job.config_hash,
            "removeKey": state.job.remove_key,
            "afterStage": state.job.after_stage.value,
            "started": state.job.started,
            "error": state.job.error,
            "promote": state.job.promote,
        }
    doc = {
        "version": 1,
        "generation": state.generation,
        "stage": state.stage.value,
        "provider": state.provider,
        "configHash": state.config_hash,
        "sealing": sealer.name,
        "config": sealer.seal(state.config),
        "job": job,
        "updated": time.time(),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_state(data: bytes, *, sealer: Sealer) -> EncryptionState:
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
            )
        return EncryptionState(
            config=sealer.unseal(doc["config"]),
            stage=Stage(doc["stage"]),
            config_hash=str(doc["configHash"]),
            provider=doc["provider"],
            job=job,
            generation=int(doc["generation"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise UnsupportedConfig(f"encryption state record is unreadable: {exc}") from None


class StateStore:
    """Load and compare-and-swap the state record."""

    def __init__(
        self, datastore: Datastore, *, key: str = STATE_KEY, sealer: Sealer | None = None
    ) -> None:
        self._ds = datastore
        self.key = key
        self._sealer: Sealer = sealer or NoSealing()

    async def load(self) -> tuple[EncryptionState | None, int]:
        """The state and its mod_revision (0 when there is no record yet)."""
        kv = await self._ds.get(self.key)
        if kv is None:
            return None, 0
        return decode_state(kv.value, sealer=self._sealer), kv.mod_revision

    async def save(self, state: EncryptionState, *, mod_revision: int) -> int:
        """Write ``state`` if the record is still at ``mod_revision``; the new revision."""
        value = encode_state(state, sealer=self._sealer)
        result = await self._ds.txn_put([PutIf(self.key, value, mod_revision)])
        if not result.succeeded[0]:
            raise StateConflict(
                "the encryption state changed concurrently (another command or server); retry"
            )
        kv = await self._ds.get(self.key)
        return kv.mod_revision if kv is not None else result.revision
