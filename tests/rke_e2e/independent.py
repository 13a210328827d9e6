"""Which key a raw stored value is under, decided without kcrypt's own code.

kube-apiserver's layouts, implemented here directly with ``cryptography``:

* plaintext: ``k8s\\x00`` + protobuf;
* ``k8s:enc:aescbc:v1:<name>:`` + IV(16) + AES-CBC(PKCS#7);
* ``k8s:enc:aesgcm:v1:<name>:`` + nonce(12) + AES-GCM(ciphertext + tag), the
  etcd key as additional data.

A value counts as under a key only if it decrypts with that key to a
protobuf-framed object.
"""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = re.compile(rb"^k8s:enc:(aescbc|aesgcm):v1:([^:]+):")


def key_under(value: bytes, storage_key: str, keys: dict[tuple[str, str], str]) -> str:
    """``identity`` or the key name that decrypts ``value``; else an explanation."""
    if value.startswith(b"k8s\x00"):
        return "identity"
    m = PREFIX.match(value)
    if m is None:
        return f"unknown-prefix:{value[:30]!r}"
    provider, name = m.group(1).decode(), m.group(2).decode()
    secret = keys.get((provider, name))
    if secret is None:
        return f"unknown-key:{provider}:{name}"
    key = base64.b64decode(secret)
    body = value[m.end() :]
    if provider == "aescbc":
        decryptor = Cipher(algorithms.AES(key), modes.CBC(body[:16])).decryptor()
        padded = decryptor.update(body[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
    else:
        plain = AESGCM(key).decrypt(body[:12], body[12:], storage_key.encode())
    if not plain.startswith(b"k8s\x00"):
        return f"not-an-object:{provider}:{name}"
    return name
