"""A datastore built the way k3s and kube-apiserver build one, without kcrypt's code.

The kine table is created from kine's own DDL (k3s-io/kine
``pkg/drivers/sqlite``), rows are appended the way kine appends them (a
create has ``created=1``; an update points ``prev_revision`` at the row it
replaces and copies the old value into ``old_value``), and values are
encrypted the way kube-apiserver's aescbc provider writes them --
``k8s:enc:aescbc:v1:<key name>:`` + a 16-byte IV + AES-256-CBC of the
PKCS#7-padded object -- with ``cryptography`` directly.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KINE_DDL = [
    """CREATE TABLE IF NOT EXISTS kine
            (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name INTEGER,
                created INTEGER,
                deleted INTEGER,
                create_revision INTEGER,
                prev_revision INTEGER,
                lease INTEGER,
                value BLOB,
                old_value BLOB
            )""",
    "CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)",
    "CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)",
    "CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)",
    "CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex"
    " ON kine (name, prev_revision)",
]


def aescbc(key: bytes, name: str, plaintext: bytes) -> bytes:
    """kube-apiserver's aescbc value (``aes.NewCBCTransformer``)."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return f"k8s:enc:aescbc:v1:{name}:".encode() + iv + enc.update(padded) + enc.finalize()


def k3s_config(keys: list[tuple[str, bytes]]) -> bytes:
    """k3s's encryption-config.json bytes: aescbc with ``keys`` (first writes), then identity."""
    doc = {
        "kind": "EncryptionConfiguration",
        "apiVersion": "apiserver.config.k8s.io/v1",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [
                    {
                        "aescbc": {
                            "keys": [
                                {"name": n, "secret": base64.b64encode(k).decode()} for n, k in keys
                            ]
                        }
                    },
                    {"identity": {}},
                ],
            }
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


class KineFile:
    """Rows appended as kine appends them."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        for stmt in KINE_DDL:
            self.db.execute(stmt)
        self.db.execute(
            "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease,"
            " value, old_value) VALUES ('compact_rev_key', 0, 0, 0, 0, 0, '', '')"
        )
        self.latest: dict[str, tuple[int, int, bytes]] = {}  # name -> (id, create id, value)

    def _insert(self, *row: object) -> int:
        cur = self.db.execute(
            "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease,"
            " value, old_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def put(self, name: str, value: bytes) -> None:
        if name not in self.latest:
            rid = self._insert(name, 1, 0, 0, 0, 0, value, None)
            self.latest[name] = (rid, rid, value)
            return
        prev, created, old = self.latest[name]
        rid = self._insert(name, 0, 0, created, prev, 0, value, old)
        self.latest[name] = (rid, created, value)

    def close(self) -> None:
        self.db.close()
