"""Before a restore touches anything: does every value of the snapshot open with the keys at hand?

:func:`open_verified` checks the archive's checksum, reads its manifest,
opens its image read-only and decrypts every value under ``/registry/``
with the keys given -- the current config, the keys sealed in the snapshot
(if the token opens them), an RKE state file, key bundles. A value opens when
a key of its provider and name decrypts it to an object; where two keys share a name, the
one whose fingerprint the manifest names is tried first. Values under a KMS
provider need that provider's plugin and are counted, not decrypted (the
server checks them when it starts).

If any value opens with no key, :class:`MissingKeys` names each missing
key (provider, name, the fingerprint the manifest recorded) and how many
values need it -- and nothing has been touched.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kcrypt import envelope
from kcrypt.audit import Classifier
from kcrypt.codec import stored_form_error
from kcrypt.datastore import Datastore, open_image
from kcrypt.snapshot.archive import MANIFEST, RKESTATE, extract_image, read_entry, verify_checksum
from kcrypt.snapshot.errors import BadArchive, MissingKey, MissingKeys
from kcrypt.snapshot.keyring import (
    LOCAL_PROVIDERS,
    KeyRing,
    KnownKey,
    keys_in_rkestate,
    keys_in_sealed_state,
    known_keys,
)
from kcrypt.snapshot.manifest import UNKNOWN, Manifest

__all__ = ["Verified", "open_verified", "read_manifest"]

REGISTRY = "/registry/"
_FACTORIES = {"aescbc": envelope.aescbc, "aesgcm": envelope.aesgcm, "secretbox": envelope.secretbox}


@dataclass(frozen=True, slots=True)
class Verified:
    manifest: Manifest
    sha256: str
    image: Datastore
    """The snapshot's store, open read-only (closed when the context ends)."""
    keys: KeyRing
    """Every key at hand, the snapshot's own included."""
    used: tuple[KnownKey, ...]
    """The keys the snapshot's values need, each with how it was found."""
    values: int
    kms_values: int
    rkestate: bytes | None
    sealed_state_opened: bool


def read_manifest(path: Path) -> tuple[str, Manifest]:
    """Checksum first (a damaged file is refused before it is parsed), then the manifest."""
    digest = verify_checksum(path)
    data = read_entry(path, MANIFEST)
    if data is None:
        raise BadArchive(f"{path} has no {MANIFEST}: not a kcrypt snapshot")
    return digest, Manifest.from_json(data)


class _Keys:
    """Candidate transformers per (provider, name), the manifest's fingerprint first."""

    def __init__(self, ring: KeyRing, manifest: Manifest) -> None:
        self._by_name: dict[tuple[str, str], list[tuple[KnownKey, envelope.Transformer]]] = {}
        for key in ring:
            if key.provider not in LOCAL_PROVIDERS:
                continue
            chain = envelope.Chain([_FACTORIES[key.provider]([envelope.Key(key.name, key.secret)])])
            self._by_name.setdefault((key.provider, key.name), []).append((key, chain))
        for (provider, name), found in self._by_name.items():
            need = manifest.need(provider, name)
            if need is not None and need.fingerprint != UNKNOWN:
                found.sort(key=lambda kt: kt[0].fingerprint != need.fingerprint)

    def opener(self, provider: str, name: str, value: bytes, context: bytes) -> KnownKey | None:
        for key, chain in self._by_name.get((provider, name), ()):
            try:
                read = chain.from_storage(value, context=context)
            except envelope.EnvelopeError:
                continue
            if _an_object(read.plaintext):
                return key
        return None

    def openers(
        self, provider: str, name: str, kvs: list[tuple[bytes, bytes]]
    ) -> list[KnownKey | None]:
        """:meth:`opener` of each (value, context): the first candidate reads them
        all in one call where it can (aescbc), the rest are tried one by one."""
        found = self._by_name.get((provider, name), [])
        out: list[KnownKey | None] = [None] * len(kvs)
        todo: Sequence[int] = range(len(kvs))
        if found:
            key, chain = found[0]
            (prefix, reader), *_ = envelope.leaves(chain)
            if isinstance(reader, envelope.ManyReader):
                opened = reader.read_many(
                    [v[len(prefix) :] if v.startswith(prefix) else b"" for v, _ in kvs]
                )
                out = [key if _an_object(plain) else None for plain in opened]
                todo = [i for i, k in enumerate(out) if k is None]
        for i in todo:
            out[i] = self.opener(provider, name, *kvs[i])
        return out


def _an_object(plaintext: bytes | None) -> bool:
    """Opened, and to an object: aescbc has no authentication, and a key that did
    not write a value leaves a valid padding about once in 256 tries."""
    return plaintext is not None and stored_form_error(plaintext) is None


@contextlib.asynccontextmanager
async def open_verified(
    path: Path,
    *,
    token: str | None,
    keys: KeyRing,
    workdir: Path | None = None,
    page: int = 1000,
    state_file: bool = True,
) -> AsyncIterator[Verified]:
    """Verify ``path`` against ``keys`` (+ what the snapshot carries; ``state_file=False``:
    not its RKE state file, RKE's ``--use-local-state``); yield it open."""
    digest, manifest = read_manifest(path)
    rkestate = read_entry(path, RKESTATE) if manifest.rkestate and state_file else None
    sealed = (
        keys_in_sealed_state(
            manifest.contents.encryption_state.encode(), token, source=f"snapshot {manifest.name}"
        )
        if manifest.contents.encryption_state
        else []
    )
    ring = known_keys(
        list(keys),
        sealed,
        keys_in_rkestate(rkestate, source=f"snapshot {manifest.name}") if rkestate else [],
    )
    work = Path(tempfile.mkdtemp(prefix=".kcrypt-restore-", dir=workdir))
    try:
        image_path = extract_image(path, manifest.datastore, work / "image")
        image = await open_image(image_path, manifest.datastore)
        try:
            used, values, kms = await _check(image, ring, manifest, page=page)
            yield Verified(
                manifest=manifest,
                sha256=digest,
                image=image,
                keys=ring,
                used=used,
                values=values,
                kms_values=kms,
                rkestate=rkestate,
                sealed_state_opened=bool(sealed),
            )
        finally:
            await image.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _check(
    image: Datastore, ring: KeyRing, manifest: Manifest, *, page: int
) -> tuple[tuple[KnownKey, ...], int, int]:
    candidates = _Keys(ring, manifest)
    classify = Classifier(tuple(dict.fromkeys(k.name for k in ring)))
    revision = await image.revision()
    missing: Counter[tuple[str, str]] = Counter()
    used: dict[tuple[str, str], KnownKey] = {}
    values = kms = 0
    after: str | None = None
    while True:
        chunk = await image.range(REGISTRY, start_after=after, limit=page, revision=revision)
        values += len(chunk.kvs)
        groups: dict[tuple[str, str], list[tuple[bytes, bytes]]] = {}
        for kv in chunk.kvs:
            kind = classify(kv.value)
            if kind.provider == "kms":
                kms += 1
            elif kind.provider != "identity":
                groups.setdefault(kind, []).append((kv.value, kv.key.encode()))
        for (provider, name), kvs in groups.items():
            for key in candidates.openers(provider, name, kvs):
                if key is None:
                    missing[(provider, name)] += 1
                else:
                    used.setdefault((key.provider, key.name), key)
        if not chunk.more or not chunk.kvs:
            break
        after = chunk.kvs[-1].key
    if missing:
        gaps = []
        for (provider, name), count in sorted(missing.items()):
            need = manifest.need(provider, name)
            gaps.append(MissingKey(provider, name, need.fingerprint if need else UNKNOWN, count))
        raise MissingKeys(manifest.name, gaps)
    return tuple(used.values()), values, kms
