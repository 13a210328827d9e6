"""Key generation and naming, k3s style.

k3s names a new key ``<type>key-`` + ``time.Now().Format(time.RFC3339)``, in
*local* time: ``aescbckey-2021-12-10T22:54:38Z``,
``aescbckey-2026-03-09T09:46:54+01:00``. kcrypt does the same for aesgcm
(``aesgcmkey-…``) and secretbox (``secretboxkey-…``). Secrets are 32 fresh
bytes from the OS CSPRNG, held in :class:`SecretBytes` from birth.

Two keys made in the same second would get the same name; a name already in
the config is bumped by one second, so names stay valid RFC 3339 and unique.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import datetime, timedelta

from kcrypt.encryption.model import ConfigKey, KeyConfig
from kcrypt.sensitive import SecretBytes

__all__ = [
    "KEY_SIZE",
    "KEY_TYPES",
    "key_type",
    "new_key",
    "new_key_name",
    "rfc3339",
]

KEY_SIZE = 32

KEY_TYPES = {"aescbc": "AES-CBC", "aesgcm": "AES-GCM", "secretbox": "XSalsa20-POLY1305"}
"""The "Key Type" column of ``status`` (k3s's names; AES-GCM is kcrypt's)."""


def key_type(kind: str) -> str:
    return KEY_TYPES.get(kind, kind)


def rfc3339(when: datetime) -> str:
    """Go's ``time.RFC3339`` layout: ``Z`` for UTC, else ``±hh:mm``; whole seconds."""
    if when.tzinfo is None:
        when = when.astimezone()
    text = when.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def new_key_name(kind: str, *, now: datetime | None = None, taken: Collection[str] = ()) -> str:
    when = (now or datetime.now()).astimezone()
    name = f"{kind}key-{rfc3339(when)}"
    while name in taken:
        when += timedelta(seconds=1)
        name = f"{kind}key-{rfc3339(when)}"
    return name


def new_key(
    kind: str, *, now: datetime | None = None, config: KeyConfig | None = None
) -> ConfigKey:
    """A fresh 32-byte key for ``kind`` with a unique k3s-style name."""
    taken = {k.name for _, k in config.all_keys()} if config else set()
    return ConfigKey(new_key_name(kind, now=now, taken=taken), SecretBytes(os.urandom(KEY_SIZE)))
