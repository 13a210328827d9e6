"""Key bundles: every key a cluster ever used, sealed with a passphrase, kept apart from snapshots.

``kcrypt keys export --to FILE`` writes one; ``kcrypt keys import FILE`` adds
its keys to this server's keyring (``<data-dir>/server/cred/keyring.json``,
0600 like the encryption config itself), where restores and audits find
them. The bundle is JSON sealed with :mod:`kcrypt.passphrase` (scrypt, then
AES-256-GCM, bound to its role by additional data)::

    {"kind": "KcryptKeyBundle", "version": 1, "created": "2026-12-01T08:00:00Z",
     "keys": [{"provider": "aescbc", "name": "aescbckey", "secret": "<base64>",
               "fingerprint": "sha256:<hex>", "source": "snapshot on-demand-n1-1764..."}]}

A snapshot and its bundle should never be stored together: the bundle is
what makes a stolen snapshot readable.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterable
from pathlib import Path

from kcrypt.files import write_atomic
from kcrypt.passphrase import SealedFormatError, WrongPassphrase, open_sealed, seal
from kcrypt.sensitive import SecretBytes
from kcrypt.snapshot.errors import BundleError
from kcrypt.snapshot.keyring import KeyRing, KnownKey

__all__ = ["read_bundle", "read_keyring_file", "write_bundle", "write_keyring_file"]

_AAD = b"kcrypt key bundle v1"


def _document(keys: Iterable[KnownKey]) -> bytes:
    return json.dumps(
        {
            "kind": "KcryptKeyBundle",
            "version": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "keys": [
                {
                    "provider": k.provider,
                    "name": k.name,
                    "secret": base64.b64encode(k.secret.reveal()).decode(),
                    "fingerprint": k.fingerprint,
                    "source": k.source,
                }
                for k in keys
            ],
        },
        indent=1,
    ).encode()


def _keys(data: bytes, *, source: str) -> list[KnownKey]:
    try:
        doc = json.loads(data)
        if doc.get("kind") != "KcryptKeyBundle" or doc.get("version") != 1:
            raise BundleError(f"{source} is not a kcrypt key bundle")
        out = []
        for k in doc["keys"]:
            key = KnownKey(
                str(k["provider"]),
                str(k["name"]),
                SecretBytes(base64.b64decode(k["secret"], validate=True)),
                str(k.get("source") or source),
            )
            if key.fingerprint != k.get("fingerprint", key.fingerprint):
                raise BundleError(f"{source}: key {key.name!r} does not match its fingerprint")
            out.append(key)
        return out
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise BundleError(f"{source} is damaged: {type(exc).__name__}") from None


def write_bundle(path: Path, ring: KeyRing, passphrase: str) -> int:
    """Seal every key of ``ring`` into ``path`` (0600, atomic); how many keys."""
    if not passphrase:
        raise BundleError("a key bundle needs a passphrase")
    sealed = seal(_document(ring), passphrase, aad=_AAD)
    write_atomic(path, sealed.encode() + b"\n")
    return len(ring)


def read_bundle(path: Path, passphrase: str) -> list[KnownKey]:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = open_sealed(text, passphrase, aad=_AAD, what=f"key bundle {path}")
    except (WrongPassphrase, SealedFormatError) as exc:
        raise BundleError(str(exc)) from None
    return _keys(data, source=f"bundle {path.name}")


def read_keyring_file(path: Path) -> list[KnownKey]:
    """This server's imported keys (none when the file does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _keys(data, source=str(path))


def write_keyring_file(path: Path, keys: Iterable[KnownKey]) -> None:
    write_atomic(path, _document(keys))
