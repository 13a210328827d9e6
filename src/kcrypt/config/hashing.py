"""The config-file hash kube-apiserver reports and compares on reload.

``"sha256:" + hex(sha256(raw bytes))`` (``computeEncryptionConfigHash``): the
hash of the file as written, not of the parsed config, so reformatting a file
changes it -- exactly what the reload controller and the
``apiserver_encryption_config_controller_last_config_info`` metric expect.
"""

from __future__ import annotations

import hashlib

__all__ = ["config_hash"]


def config_hash(raw: bytes) -> str:
    """Upstream's hash of a config file's bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()
