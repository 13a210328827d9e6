"""Restore a snapshot into a datastore, after proving every value will be readable.

1. :func:`~kcrypt.snapshot.verify.open_verified`: checksum, manifest, every
   value decrypted with the keys at hand -- or :class:`MissingKeys` and
   nothing touched;
2. the config the cluster will run: today's config plus every key the data
   needs, appended read-only (:mod:`kcrypt.snapshot.merge`), validated with
   kube-apiserver's rules;
3. a ``pre-restore`` snapshot of what the datastore holds now (k3s moves the
   old database aside; kcrypt keeps it as a snapshot that can be restored);
4. the marker ``/kcrypt/restore`` (a server refuses to start while it is
   there: the restore was interrupted and must be run again);
5. the data (:func:`~kcrypt.snapshot.load.load_image`), the encryption state
   record (token-sealed, generation moved on, no pass pending), the record
   ``/kcrypt/snapshot/restored`` that ``status`` shows, and a compaction so no
   older revision keeps values the restored config cannot read;
6. the marker removed. The caller then writes the config file (0600).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kcrypt.datastore import Datastore
from kcrypt.encryption import (
    STATE_KEY,
    EncryptionError,
    EncryptionState,
    KeyConfig,
    Stage,
    StateStore,
    config_sha256,
    parse_config,
    render_config,
    transformer_for,
)
from kcrypt.encryption.model import KeyProvider
from kcrypt.encryption.sealing import TokenSealer
from kcrypt.encryption.statestore import decode_state
from kcrypt.snapshot.keyring import KeyRing
from kcrypt.snapshot.load import Loaded, load_image
from kcrypt.snapshot.merge import merge_keys
from kcrypt.snapshot.records import RESTORE_KEY, RestoreRecord, write_restored
from kcrypt.snapshot.save import save_snapshot
from kcrypt.snapshot.verify import Verified, open_verified

__all__ = ["Restored", "restore_snapshot"]

log = logging.getLogger("kcrypt.snapshot")


@dataclass(frozen=True, slots=True)
class Restored:
    snapshot: str
    config: bytes
    """The config the cluster runs from now on (write it 0600 where the servers load it)."""
    read_only: tuple[str, ...]
    """Keys added read-only: a ``reencrypt`` retires them."""
    loaded: Loaded
    values: int
    pre_restore: str
    rkestate: bytes | None


def _base(current: bytes | None, verified: Verified, token: str | None) -> KeyConfig | None:
    if current is not None:
        return parse_config(current)
    state = verified.manifest.contents.encryption_state
    if state and token:
        try:
            sealer = TokenSealer(token, record_key=STATE_KEY)
            record = decode_state(state.encode(), sealer=sealer)
            return parse_config(record.config)
        except EncryptionError:
            return None
    return None


async def restore_snapshot(
    path: Path,
    target: Datastore,
    *,
    token: str | None,
    keys: KeyRing,
    current_config: bytes | None,
    provider: KeyProvider,
    node: str,
    snapshot_dir: Path | None,
    clock: Callable[[], float] = time.time,
    state_file: bool = True,
) -> Restored:
    """Verify, then restore ``path`` into ``target`` (every server using it stopped);
    ``state_file=False`` ignores an RKE state file inside the snapshot."""
    async with open_verified(
        path, token=token, keys=keys, workdir=snapshot_dir, state_file=state_file
    ) as verified:
        name = verified.manifest.name
        log.info(
            "Snapshot %s verified: %d values, every one readable with the keys at hand (%s)",
            name,
            verified.values,
            ", ".join(f"{k.provider} {k.name} from {k.source}" for k in verified.used) or "none",
        )
        merged = merge_keys(_base(current_config, verified, token), verified.used)
        config = render_config(merged.config)
        transformer_for(config)  # kube-apiserver's rules, before anything is written
        pre = ""
        if snapshot_dir is not None and await target.count("/registry/") > 0:
            saved = await save_snapshot(
                target,
                directory=snapshot_dir,
                name="pre-restore",
                node=node,
                reason=f"before restoring {name}",
                keys=keys,
                clock=clock,
            )
            pre = saved.name
            log.info("Pre-restore datastore saved as snapshot %s", pre)
        store = (
            StateStore(target, sealer=TokenSealer(token, record_key=STATE_KEY)) if token else None
        )
        before = (await _state(store, target))[0] if store else None
        marker = json.dumps({"snapshot": name, "started": clock()}).encode()
        if await target.get(RESTORE_KEY) is None:
            await target.create(RESTORE_KEY, marker)
        log.info("Restoring snapshot %s into %s", name, target.endpoint)
        loaded = await load_image(verified.image, target, keep=(RESTORE_KEY,))
        restored, rev = await _state(store, target) if store else (None, 0)
        stage = Stage.START
        if merged.added and merged.config.enabled:
            stage = Stage.ROTATE  # k3s's layout after rotate: reencrypt drops the last key
        elif before is not None and before.job is None:
            stage = before.stage
        generation = (
            max(s.generation for s in (before, restored) if s is not None) + 1
            if (before or restored)
            else 1
        )
        retired = {
            (r.kind, r.key.name): r for s in (restored, before) if s is not None for r in s.retired
        }
        state = EncryptionState(
            config=config,
            stage=stage,
            config_hash=config_sha256(config),
            provider=provider,
            generation=generation,
            activated=clock(),
            retired=tuple(retired.values()),
        )
        if store is not None:  # k3s mode; an RKE cluster keeps its state in cluster.rkestate
            await store.save(state, mod_revision=rev)
        read_only = tuple(k.name for k in merged.added)
        await write_restored(
            target,
            RestoreRecord(
                snapshot=name, time=clock(), read_only=read_only, config_hash=state.config_hash
            ),
        )
        await target.compact(await target.revision())
        kv = await target.get(RESTORE_KEY)
        if kv is not None:
            await target.delete(RESTORE_KEY, mod_revision=kv.mod_revision)
        log.info(
            "Restored snapshot %s: %d created, %d updated, %d deleted, %d unchanged",
            name,
            loaded.created,
            loaded.updated,
            loaded.deleted,
            loaded.unchanged,
        )
        return Restored(name, config, read_only, loaded, verified.values, pre, verified.rkestate)


async def _state(store: StateStore, target: Datastore) -> tuple[EncryptionState | None, int]:
    """The state record in ``target`` and its revision; a record this token cannot
    open (a snapshot taken with another token) is replaced, not read."""
    try:
        return await store.load()
    except EncryptionError:
        kv = await target.get(STATE_KEY)
        return None, kv.mod_revision if kv is not None else 0
