"""Managed keys: RKE's names, kcrypt's entropy.

RKE names a key ``k-`` + five characters of Kubernetes' random-string
alphabet (norman's ``GenerateName("key")``) and never checks for a clash;
kcrypt draws the same shape but retries until the name is new to the cluster
(every name in the state file, retired ones included), so two keys never share
a name and the prefix ``k8s:enc:aescbc:v1:<name>:`` always points at one key.

RKE's secret is 16 random bytes written as 32 hex characters (an AES-256 key
with 128 bits of entropy). kcrypt's is 32 bytes from the OS CSPRNG. RKE's keys
are still read: they are valid 32-byte aescbc keys.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

from kcrypt.config import KeyConfiguration, new_key

__all__ = ["ALPHABET", "new_key_name", "new_named_key"]

#: k8s.io/apimachinery ``util/rand``'s alphabet (no vowels, no confusable digits).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def new_key_name(taken: Collection[str]) -> str:
    """``k-xxxxx`` not in ``taken``."""
    while True:
        name = "k-" + "".join(secrets.choice(ALPHABET) for _ in range(5))
        if name not in taken:
            return name


def new_named_key(taken: Collection[str], provider: str = "aescbc") -> KeyConfiguration:
    """A fresh 32-byte key for ``provider`` with a name never used in this cluster."""
    return new_key(new_key_name(taken), provider)
