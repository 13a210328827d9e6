"""The audit's counts on a store planted in process (no fixtures needed): every
value is proven readable or not one by one, even where many are opened at once.

Pages of 3 values, so resources and keys straddle pages; values planted in
kube-apiserver's aescbc layout by ``k3s_store.aescbc`` (``cryptography``
directly, not kcrypt's transformers).
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kcrypt.audit import audit_store, by_key, load_audit_config
from kcrypt.datastore import PutIf, open_datastore

from .k3s_store import aescbc

NEW, OLD, OTHER = os.urandom(32), os.urandom(32), os.urandom(32)
OBJ = b'{"kind":"Secret","apiVersion":"v1","data":{"a":"YQ=="}}'


def _config() -> bytes:
    keys = [
        {"name": n, "secret": base64.b64encode(k).decode()} for n, k in (("new", NEW), ("old", OLD))
    ]
    doc = {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": [
            {
                "resources": ["secrets", "widgets.apps.example.com"],
                "providers": [{"aescbc": {"keys": keys}}, {"identity": {}}],
            }
        ],
    }
    return json.dumps(doc).encode()


def _foreign(last: int) -> bytes:
    """Under key ``new``'s header but encrypted with another key, chosen so that
    ``new`` decrypts it to a first byte no object starts with and a last byte
    of ``last`` (0xff: no padding; 0x01: a valid one, as happens by chance)."""
    while True:
        value = aescbc(OTHER, "new", OBJ)
        body = value[len(b"k8s:enc:aescbc:v1:new:") :]
        dec = Cipher(algorithms.AES(NEW), modes.CBC(body[:16])).decryptor()
        plain = dec.update(body[16:]) + dec.finalize()
        if plain[-1] == last and plain[0] not in b" \t\r\n{k":
            return value


def _not_padded(key: bytes) -> bytes:
    """Under key ``new``'s header and really encrypted with it, but with no PKCS#7 padding."""
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return b"k8s:enc:aescbc:v1:new:" + iv + enc.update(bytes(32)) + enc.finalize()


async def test_each_value_is_counted_under_its_key_and_proven_readable_or_not() -> None:
    planted = {
        **{
            f"/registry/apps.example.com/widgets/ns/w{i}": aescbc(NEW, "new", OBJ) for i in range(4)
        },
        "/registry/configmaps/ns/c0": OBJ,
        "/registry/configmaps/ns/c1": OBJ,
        **{f"/registry/secrets/ns/new{i}": aescbc(NEW, "new", OBJ) for i in range(5)},
        **{f"/registry/secrets/ns/old{i}": aescbc(OLD, "old", OBJ) for i in range(2)},
        "/registry/secrets/ns/plain": OBJ,
        "/registry/secrets/ns/wrong-bytes": _foreign(0xFF),
        "/registry/secrets/ns/wrong-bytes-lucky-padding": _foreign(0x01),
        "/registry/secrets/ns/not-an-object": aescbc(NEW, "new", b"not an object"),
        "/registry/secrets/ns/truncated": aescbc(NEW, "new", OBJ)[:-1],
        "/registry/secrets/ns/unpadded": _not_padded(NEW),
        "/registry/secrets/ns/x-new": aescbc(NEW, "new", OBJ),
    }
    ds = await open_datastore("memory://")
    try:
        await ds.txn_put([PutIf(k, v, 0) for k, v in planted.items()])
        config = load_audit_config(_config(), source="test")
        report = await audit_store(
            ds,
            config.transformers,
            known_names=config.known_names,
            config_hash=config.hash,
            page=3,
        )
    finally:
        await ds.close()

    rows = by_key(report)
    assert report.values == len(planted)
    new = rows[("secrets", "aescbc", "new")]
    assert (new.write, new.count, new.stale, new.undecryptable) == (True, 11, 0, 5)
    assert new.reasons == {
        "invalid PKCS7 data (empty or not padded) (key new)": 2,
        "the stored data is not a multiple of the block size (key new)": 1,
        "decrypted to something that is not an object: value does not start with the"
        " Kubernetes protobuf magic k8s\\x00 (key new)": 2,
    }
    old = rows[("secrets", "aescbc", "old")]
    assert (old.write, old.count, old.stale, old.undecryptable) == (False, 2, 2, 0)
    plain = rows[("secrets", "identity", "")]
    assert (plain.count, plain.plaintext, plain.undecryptable) == (1, 1, 0)
    widgets = rows[("widgets.apps.example.com", "aescbc", "new")]
    assert (widgets.write, widgets.count, widgets.undecryptable) == (True, 4, 0)
    configmaps = rows[("configmaps", "identity", "")]
    assert (configmaps.write, configmaps.count, configmaps.plaintext) == (True, 2, 0)
