"""Read a stored value's envelope header without decrypting it.

Audits and key-usage scans need "which provider and key protects this value"
for millions of values without touching keys or a KMS plugin.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcrypt.envelope.errors import NoMatchingPrefix
from kcrypt.envelope.provider import ENCRYPTED_MARKER

__all__ = ["EnvelopePrefix", "parse_prefix"]

_KNOWN = {("aescbc", "v1"), ("aesgcm", "v1"), ("secretbox", "v1"), ("kms", "v1"), ("kms", "v2")}


@dataclass(frozen=True, slots=True)
class EnvelopePrefix:
    """``k8s:enc:<provider>:<version>:<key_name>:``; for kms ``key_name`` is the provider name."""

    provider: str
    version: str
    key_name: str
    prefix: str


def parse_prefix(data: bytes) -> EnvelopePrefix | None:
    """The envelope header of ``data``, or None when it is not encrypted.

    Data that starts with ``k8s:enc:`` but has no complete, known header is
    neither plaintext nor readable, so it raises :class:`NoMatchingPrefix`
    rather than being reported as unencrypted. Key names end at the first
    ``:`` after the version, as upstream's prefix match does for names
    without colons.
    """
    if not data.startswith(ENCRYPTED_MARKER):
        return None
    fields = data[len(ENCRYPTED_MARKER) :].split(b":", 3)
    if len(fields) == 4:
        try:
            provider, version, name = (f.decode("utf-8") for f in fields[:3])
        except UnicodeDecodeError:
            provider = version = name = ""
        if (provider, version) in _KNOWN and name:
            prefix = f"k8s:enc:{provider}:{version}:{name}:"
            return EnvelopePrefix(provider=provider, version=version, key_name=name, prefix=prefix)
    raise NoMatchingPrefix(
        "no matching prefix found: value starts with k8s:enc: but has no known envelope header"
    )
