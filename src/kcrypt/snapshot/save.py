"""Take a snapshot: the datastore's image, its manifest, the keys it needs, one file.

Order, and why:

1. the engine writes an image of the whole store as of one revision into a
   hidden work directory inside the snapshot directory (same filesystem);
2. the image is opened read-only and described (:func:`manifest.describe`):
   the manifest's counts and key fingerprints are computed from the very
   bytes that go into the archive, never from the live store;
3. the archive is written atomically under its final name (0600, checksum);
4. the work directory is removed. A save killed at any point leaves only
   hidden names, which ``ls`` never shows.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kcrypt.datastore import Datastore, open_image
from kcrypt.encryption import STATE_KEY
from kcrypt.snapshot.archive import RKESTATE, write_archive
from kcrypt.snapshot.directory import EXTENSION, snapshot_name
from kcrypt.snapshot.keyring import (
    KeyRing,
    keys_in_config,
    keys_in_rkestate,
    keys_in_sealed_state,
    known_keys,
)
from kcrypt.snapshot.manifest import KeyNeed, Manifest, describe

__all__ = ["Saved", "keys_at_hand", "save_snapshot"]

log = logging.getLogger("kcrypt.snapshot")


@dataclass(frozen=True, slots=True)
class Saved:
    name: str
    path: Path
    size: int
    revision: int
    values: int
    sha256: str
    keys: tuple[KeyNeed, ...]


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


async def keys_at_hand(
    ds: Datastore, *, token: str | None, config: bytes | None, rkestate: bytes | None = None
) -> KeyRing:
    """The keys a running cluster has: its config, its token-sealed state, its RKE state file."""
    state = await ds.get(STATE_KEY)
    return known_keys(
        keys_in_config(config, source="current config") if config else [],
        keys_in_sealed_state(state.value, token, source="encryption state") if state else [],
        keys_in_rkestate(rkestate, source="cluster.rkestate") if rkestate else [],
    )


async def save_snapshot(
    ds: Datastore,
    *,
    directory: Path,
    name: str,
    node: str,
    reason: str,
    keys: KeyRing,
    rkestate: bytes | None = None,
    exact_name: bool = False,
    clock: Callable[[], float] = time.time,
) -> Saved:
    """Snapshot ``ds`` into ``directory`` as ``<name>-<node>-<unix>.zip`` (or ``<name>.zip``)."""
    now = clock()
    final = name if exact_name else snapshot_name(name, node, now)
    path = directory / f"{final}{EXTENSION}"
    log.info("Saving etcd snapshot to %s", path)
    work = Path(tempfile.mkdtemp(prefix=f".{final}.tmp-work-", dir=directory))
    try:
        image_path = work / "image"
        image = await ds.snapshot(image_path)
        store = await open_image(image_path, image.kind)
        try:
            contents = await describe(store, keys)
        finally:
            await store.close()
        manifest = Manifest(
            name=final,
            datastore=image.kind,
            node=node,
            created=_rfc3339(now),
            reason=reason,
            contents=contents,
            rkestate=rkestate is not None,
        )
        extra = {RKESTATE: rkestate} if rkestate is not None else {}
        # copying the image into the archive is disk-bound: off the event loop
        digest = await asyncio.to_thread(
            write_archive,
            path,
            manifest=manifest.to_json(),
            image=image_path,
            kind=image.kind,
            extra=extra,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = path.stat().st_size
    log.info(
        "Snapshot %s saved (%d values at revision %d, %d bytes, %s)",
        final,
        contents.values,
        contents.revision,
        size,
        digest,
    )
    return Saved(final, path, size, contents.revision, contents.values, digest, contents.keys)
