"""The ``keyfile`` backend, for development: keys in a 0600 JSON file.

This protects nothing a disk thief cannot read -- the keys sit next to the
data they protect -- but it runs anywhere and exercises every plugin code
path. Use ``pkcs11`` for real. The file is written only by
:func:`kcrypt.files.write_atomic` (0600, temp + fsync + rename)::

    {"current": "kcrypt-kek-2", "keys": {"kcrypt-kek-1": "<b64>", "kcrypt-kek-2": "<b64>"}}
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kcrypt.files import write_atomic
from kcrypt.kmsplugin.backend import NONCE_SIZE
from kcrypt.kmsplugin.errors import PluginError, UnknownKeyID
from kcrypt.kmsplugin.keyids import next_key_id
from kcrypt.sensitive import SecretBytes

__all__ = ["KeyfileBackend"]


class KeyfileBackend:
    name = "keyfile"

    def __init__(self, path: Path, *, key_prefix: str = "kcrypt-kek") -> None:
        self.path = path
        self.key_prefix = key_prefix
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._current = ""
        self._keys: dict[str, SecretBytes] = {}
        if not path.exists():
            self._write({}, "")
            self.rotate()
        self.refresh()

    def _write(self, keys: dict[str, SecretBytes], current: str) -> None:
        doc = {
            "current": current,
            "keys": {k: base64.b64encode(v.reveal()).decode() for k, v in keys.items()},
        }
        write_atomic(self.path, json.dumps(doc, indent=2).encode() + b"\n")

    def _read(self) -> tuple[dict[str, SecretBytes], str]:
        try:
            doc = json.loads(self.path.read_bytes())
            keys = {
                str(k): SecretBytes(base64.b64decode(v, validate=True))
                for k, v in doc["keys"].items()
            }
            current = str(doc["current"])
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise PluginError(f"cannot read key file {self.path}: {type(exc).__name__}") from None
        if current and current not in keys:
            raise PluginError(f"key file {self.path}: current key {current!r} is not in it")
        return keys, current

    def refresh(self) -> None:
        mtime = os.stat(self.path).st_mtime
        with self._lock:
            if mtime == self._mtime:
                return
            self._keys, self._current = self._read()
            self._mtime = mtime

    def current_key_id(self) -> str:
        return self._current

    def encrypt(self, plaintext: bytes) -> tuple[bytes, str]:
        with self._lock:
            key_id, key = self._current, self._keys[self._current]
        nonce = os.urandom(NONCE_SIZE)
        return nonce + AESGCM(key.reveal()).encrypt(nonce, plaintext, key_id.encode()), key_id

    def decrypt(self, ciphertext: bytes, key_id: str) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            self.refresh()
            key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyID(f"unknown key ID {key_id!r}")
        try:
            return AESGCM(key.reveal()).decrypt(
                ciphertext[:NONCE_SIZE], ciphertext[NONCE_SIZE:], key_id.encode()
            )
        except InvalidTag:
            raise PluginError("decryption failed: wrong key ID or damaged ciphertext") from None

    def rotate(self) -> str:
        with self._lock:
            keys, _ = self._read()
            key_id = next_key_id(self.key_prefix, keys)
            keys[key_id] = SecretBytes(os.urandom(32))
            self._write(keys, key_id)
            self._mtime = None
        self.refresh()
        return key_id
