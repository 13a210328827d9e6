"""The ``pkcs11`` backend: keys generated on a PKCS#11 token, used only there.

Every key is an AES-256 secret key made by the token itself (``C_GenerateKey``)
as ``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``: its value never leaves the
token, not even to this process (reading ``CKA_VALUE`` is refused). Encrypt
and decrypt are ``CKM_AES_GCM`` on the token with the key ID as additional
data. A key's ``CKA_LABEL`` is its key ID (``<key-label>-<n>``); the highest
``n`` is current, so several plugin processes on one token (one per API
server) agree on the current key without talking to each other, and a key
added by one (``kcrypt kms-plugin rotate``) is seen by the others at their
next ``Status``.

Tested with Debian's SoftHSM2 (``/usr/lib/softhsm/libsofthsm2.so``); any
HSM's PKCS#11 module works the same way. The PIN is read from a file and
kept only by the PKCS#11 session (never logged).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.mechanisms import GCMParams

from kcrypt.kmsplugin.backend import NONCE_SIZE
from kcrypt.kmsplugin.errors import PluginError, UnknownKeyID
from kcrypt.kmsplugin.keyids import key_number, newest, next_key_id

__all__ = ["DEFAULT_MODULE", "PKCS11Backend", "read_pin"]

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
_TAG_BITS = 128
_KEY_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.ENCRYPT: True,
    Attribute.DECRYPT: True,
}


def read_pin(path: Path) -> str:
    """The user PIN from ``path`` (one line; a trailing newline is ignored)."""
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise PluginError(f"cannot read PIN file {path}: {exc.strerror}") from None


class PKCS11Backend:
    name = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str, key_label: str) -> None:
        self.key_label = key_label
        self._lock = threading.Lock()
        try:
            lib = pkcs11.lib(module)
            token = lib.get_token(token_label=token_label)
            self._session: Any = token.open(user_pin=pin, rw=True)
        except pkcs11.exceptions.NoSuchToken:
            raise PluginError(f"no PKCS#11 token labelled {token_label!r} in {module}") from None
        except pkcs11.exceptions.PinIncorrect:
            raise PluginError(f"PKCS#11 token {token_label!r}: the PIN is incorrect") from None
        except (pkcs11.exceptions.PKCS11Error, RuntimeError, OSError) as exc:
            raise PluginError(
                f"cannot open PKCS#11 token {token_label!r} with {module}: {type(exc).__name__}"
            ) from None
        self._keys: dict[str, Any] = {}
        self._current = ""
        self.refresh()
        if not self._current:
            self.rotate()

    def refresh(self) -> None:
        with self._lock:
            found: dict[str, Any] = {}
            for obj in self._session.get_objects(
                {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES}
            ):
                label = obj[Attribute.LABEL]
                if key_number(self.key_label, label) is not None:
                    found.setdefault(label, obj)
            self._keys = found
            self._current = newest(self.key_label, found)

    def current_key_id(self) -> str:
        return self._current

    def key(self, key_id: str) -> Any:
        """The token's key object (a handle: its value cannot be read)."""
        key = self._keys.get(key_id)
        if key is None:
            self.refresh()
            key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyID(f"unknown key ID {key_id!r}")
        return key

    def encrypt(self, plaintext: bytes) -> tuple[bytes, str]:
        key_id = self._current
        key = self.key(key_id)
        nonce = os.urandom(NONCE_SIZE)
        params = GCMParams(nonce, key_id.encode(), _TAG_BITS)
        with self._lock:
            ct = key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        return nonce + bytes(ct), key_id

    def decrypt(self, ciphertext: bytes, key_id: str) -> bytes:
        key = self.key(key_id)
        params = GCMParams(ciphertext[:NONCE_SIZE], key_id.encode(), _TAG_BITS)
        try:
            with self._lock:
                return bytes(
                    key.decrypt(
                        ciphertext[NONCE_SIZE:],
                        mechanism=Mechanism.AES_GCM,
                        mechanism_param=params,
                    )
                )
        except pkcs11.exceptions.PKCS11Error:
            # SoftHSM reports a bad tag as a bare GeneralError
            raise PluginError("decryption failed: wrong key ID or damaged ciphertext") from None

    def rotate(self) -> str:
        self.refresh()
        with self._lock:
            key_id = next_key_id(self.key_label, self._keys)
            self._session.generate_key(
                KeyType.AES, 256, label=key_id, store=True, template=_KEY_TEMPLATE
            )
        self.refresh()
        return key_id
