"""What a key store must do for the plugin: AES-GCM under named, rotating keys.

A backend keeps keys by *key ID* (never reused; the newest one is current),
encrypts with the current key and decrypts with the key a ciphertext names.
The key ID is authenticated (AES-GCM additional data), so a ciphertext moved
under another key ID fails instead of decrypting. Ciphertext layout:
``nonce(12) || AES-256-GCM(key, nonce, plaintext, aad=key_id) || tag(16)``.

:meth:`Backend.refresh` re-reads the store: another process (a second plugin
on the same token, ``kcrypt kms-plugin rotate``) may have added a key, which
the next ``Status`` then reports.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NONCE_SIZE", "Backend"]

NONCE_SIZE = 12


class Backend(Protocol):
    name: str

    def current_key_id(self) -> str: ...

    def refresh(self) -> None: ...

    def encrypt(self, plaintext: bytes) -> tuple[bytes, str]:
        """``(ciphertext, key_id)`` under the current key."""
        ...

    def decrypt(self, ciphertext: bytes, key_id: str) -> bytes: ...

    def rotate(self) -> str:
        """Make a new current key; returns its key ID. Old keys still decrypt."""
        ...
