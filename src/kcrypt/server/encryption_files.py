"""The generated encryption config of ``--secrets-encryption`` (k3s's first boot).

On the first start with ``--secrets-encryption`` the server writes
``<data-dir>/server/cred/encryption-config.json``: one fresh 32-byte key of
the chosen provider, named like k3s names the very first key (``aescbckey``,
``secretboxkey``; kcrypt adds ``aesgcmkey``), followed by ``identity`` so data
written before encryption was turned on stays readable. The bytes are k3s's
compact JSON, so the file's hash matches what k3s would compute.

A file that exists and is not empty is never regenerated: it holds the only
copy of the keys (k3s keeps it the same way). Written 0600 and atomically.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kcrypt.config import dump_json, generate
from kcrypt.encryption import KeyProvider
from kcrypt.files import write_atomic

__all__ = ["FIRST_KEY_NAMES", "ensure_encryption_config"]

log = logging.getLogger("kcrypt.server")

FIRST_KEY_NAMES: dict[KeyProvider, str] = {
    "aescbc": "aescbckey",
    "aesgcm": "aesgcmkey",
    "secretbox": "secretboxkey",
}


def ensure_encryption_config(path: Path, *, provider: KeyProvider) -> bool:
    """Generate the config at ``path`` unless it exists; True when generated."""
    if path.exists() and path.stat().st_size > 0:
        return False
    config = generate(provider, key_name=FIRST_KEY_NAMES[provider])
    write_atomic(path, dump_json(config))
    log.info("generated encryption config %s (provider %s)", path, provider)
    return True
