"""Joining a cluster: the first server records the critical settings, later ones match them.

k3s refuses a joining server whose ``--secrets-encryption`` or
``--secrets-encryption-provider`` differs from the cluster's ("critical
configuration value mismatch between servers"), and a wrong token cannot
open the bootstrap data (research note §3.2). kcrypt does both checks before
a server listens:

* ``/kcrypt/cluster`` holds the non-secret settings (JSON: version,
  ``secretsEncryption``, ``provider``, ``sealing``, who created it and when).
  The first server creates it (compared on absence); a server that finds
  it compares its own settings and refuses to start on a difference,
  naming the setting and both values.
* The token is checked by opening the sealed encryption state: a token that
  cannot open it is the wrong one (the message never shows a token).

A cluster of one may change its settings across restarts (k3s checks on
join): the record is rewritten when no other server is listed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from kcrypt.datastore.contract import Datastore, PutIf
from kcrypt.encryption.errors import ClusterMismatch, StateConflict
from kcrypt.encryption.publisher import list_servers
from kcrypt.encryption.sealing import legacy_sealer
from kcrypt.encryption.statestore import StateStore, decode_state, record_sealing

__all__ = ["CLUSTER_KEY", "ClusterSettings", "join_cluster", "reseal"]

log = logging.getLogger("kcrypt.encryption.cluster")

CLUSTER_KEY = "/kcrypt/cluster"


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    secrets_encryption: bool
    provider: str

    def encode(self, *, node: str) -> bytes:
        doc = {
            "version": 1,
            "secretsEncryption": self.secrets_encryption,
            "provider": self.provider,
            "createdBy": node,
            "updated": time.time(),
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> ClusterSettings | None:
        try:
            doc = json.loads(data)
            return cls(bool(doc["secretsEncryption"]), str(doc["provider"]))
        except (ValueError, KeyError, TypeError):
            return None


def _flag(value: bool) -> str:
    return "on" if value else "off"


def _hint(setting: str, value: bool) -> str:
    """How to start with the cluster's value: a flag takes no value (k3s's style)."""
    return f"start with {setting}" if value else f"start without {setting}"


async def join_cluster(
    datastore: Datastore,
    settings: ClusterSettings,
    *,
    node: str,
    store: StateStore,
) -> bool:
    """Check (or create) the cluster record and the token; True when this server created it.

    Raises :class:`ClusterMismatch` or
    :class:`~kcrypt.encryption.errors.TokenDoesNotOpen` with the reason.
    """
    await store.load()  # raises TokenDoesNotOpen when the token cannot open the state
    others = [s for s in await list_servers(datastore) if s.node != node]
    for _ in range(3):
        kv = await datastore.get(CLUSTER_KEY)
        recorded = ClusterSettings.decode(kv.value) if kv is not None else None
        if recorded is not None and others:
            if recorded.secrets_encryption != settings.secrets_encryption:
                raise ClusterMismatch(
                    "--secrets-encryption",
                    _flag(settings.secrets_encryption),
                    _flag(recorded.secrets_encryption),
                    hint=_hint("--secrets-encryption", recorded.secrets_encryption),
                )
            if recorded.provider != settings.provider:
                raise ClusterMismatch(
                    "--secrets-encryption-provider",
                    settings.provider,
                    recorded.provider,
                    hint=f"start with --secrets-encryption-provider {recorded.provider}",
                )
            return False
        if recorded == settings:
            return False
        rev = kv.mod_revision if kv is not None else 0
        result = await datastore.txn_put([PutIf(CLUSTER_KEY, settings.encode(node=node), rev)])
        if result.succeeded[0]:
            if kv is None:
                log.info(
                    "created the cluster record (secrets-encryption %s, provider %s)",
                    _flag(settings.secrets_encryption),
                    settings.provider,
                )
            return kv is None
    raise StateConflict(f"{CLUSTER_KEY} keeps changing; retry")


async def reseal(datastore: Datastore, store: StateStore, *, token: str | None) -> bool:
    """Seal again, with ``store``'s sealer, a record an earlier version sealed; True if done.

    Earlier versions wrote it unsealed (base64 beside the datastore it
    protects) or sealed with HKDF of the token, which is cheap to attack
    offline; from now on only scrypt of the token opens it.
    """
    kv = await datastore.get(store.key)
    if kv is None:
        return False
    name = record_sealing(kv.value)
    if name == store.sealer.name:
        return False
    old = legacy_sealer(name, token=token, record_key=store.key)
    if old is None:
        return False  # unknown: the load reports it
    state = decode_state(kv.value, sealer=old)
    await store.save(state, mod_revision=kv.mod_revision)
    log.warning(
        "the encryption state record was sealed as %r: sealed it again with the server "
        "token (scrypt)",
        name,
    )
    return True
