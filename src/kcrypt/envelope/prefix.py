"""Read a stored value's envelope header without decrypting it.

Audits and key-usage scans need "which provider and key protects this value"
for millions of values without touching keys or a KMS plugin.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def parse_prefix(data: bytes, *, known_names: Iterable[str] = ()) -> EnvelopePrefix | None:
    """The envelope header of ``data``, or None when it is not encrypted.

    Data that starts with ``k8s:enc:`` but has no complete, known header is
    neither plaintext nor readable, so it raises :class:`NoMatchingPrefix`
    rather than being reported as unencrypted.

    Where the key name ends is ambiguous when names contain ``:`` -- k3s
    names keys by RFC 3339 time (``aescbckey-2021-12-10T22:54:38Z``), and the
    ciphertext after the header may contain ``:`` too. ``known_names`` are
    the key names (or KMS provider names) the caller's config uses: the
    longest one whose full prefix ``k8s:enc:<provider>:<version>:<name>:``
    starts ``data`` is the name, as upstream's prefix match against its
    configured keys decides. Without a matching known name the name ends at
    the first ``:`` after the version, which is right only for names without
    colons::

        >>> parse_prefix(b"k8s:enc:aescbc:v1:k-10:54:38Z:...").key_name
        'k-10'
        >>> parse_prefix(b"k8s:enc:aescbc:v1:k-10:54:38Z:...",
        ...              known_names=["k-10:54:38Z"]).key_name
        'k-10:54:38Z'
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
            head = f"k8s:enc:{provider}:{version}:"
            for known in sorted({n for n in known_names if n}, key=len, reverse=True):
                prefix = f"{head}{known}:"
                if data.startswith(prefix.encode()):
                    return EnvelopePrefix(provider, version, known, prefix)
            return EnvelopePrefix(provider, version, name, f"{head}{name}:")
    raise NoMatchingPrefix(
        "no matching prefix found: value starts with k8s:enc: but has no known envelope header"
    )
