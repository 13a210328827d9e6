"""Provider cases shared by the envelope tests.

Each case builds a provider from a list of keys. "Wrong key" means the same
key names with other bytes (for KMS: a plugin holding another KEK), which is
what an operator hits after restoring a config that does not match the data.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kcrypt.envelope import (
    Key,
    KMSEncryptResponse,
    KMSStatus,
    Provider,
    aescbc,
    aesgcm,
    identity,
    kms_v1,
    kms_v2,
    secretbox,
)
from kcrypt.sensitive import SecretBytes

CONTEXT = b"/registry/secrets/default/secret1"


class AEADKMSv2Client:
    """A test KMS v2 plugin with a real KEK (AES-GCM), so a wrong KEK fails to decrypt."""

    def __init__(self, kek: bytes | None = None, key_id: str = "kek-1") -> None:
        self.kek = kek or os.urandom(32)
        self.key_id = key_id

    def status(self) -> KMSStatus:
        return KMSStatus(version="v2", healthz="ok", key_id=self.key_id)

    def encrypt(self, plaintext: bytes, *, uid: str) -> KMSEncryptResponse:
        nonce = os.urandom(12)
        ct = nonce + AESGCM(self.kek).encrypt(nonce, plaintext, self.key_id.encode())
        return KMSEncryptResponse(ciphertext=ct, key_id=self.key_id, annotations={})

    def decrypt(
        self, ciphertext: bytes, *, uid: str, key_id: str, annotations: Mapping[str, bytes]
    ) -> bytes:
        return AESGCM(self.kek).decrypt(ciphertext[:12], ciphertext[12:], key_id.encode())


class AEADKMSv1Client:
    """The KMS v1 equivalent of :class:`AEADKMSv2Client`."""

    def __init__(self, kek: bytes | None = None) -> None:
        self.kek = kek or os.urandom(32)

    def encrypt(self, plain: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self.kek).encrypt(nonce, plain, None)

    def decrypt(self, cipher: bytes) -> bytes:
        return AESGCM(self.kek).decrypt(cipher[:12], cipher[12:], None)


def keys(size: int, *names: str) -> list[Key]:
    return [Key(name, SecretBytes(os.urandom(size))) for name in names]


def same_names_other_bytes(ks: Sequence[Key]) -> list[Key]:
    return [Key(k.name, SecretBytes(os.urandom(len(k.secret)))) for k in ks]


@dataclass(frozen=True)
class Case:
    """One provider at one key size. ``build(keys)`` gives a provider for those keys."""

    id: str
    kind: str  # aescbc, aesgcm, secretbox, kms-v2, kms-v1, identity
    key_size: int
    build: Callable[[Sequence[Key]], Provider]

    @property
    def keyed(self) -> bool:
        return self.kind in ("aescbc", "aesgcm", "secretbox")

    @property
    def encrypts(self) -> bool:
        return self.kind != "identity"


def _kms_v2(ks: Sequence[Key]) -> Provider:
    # the key *bytes* act as the plugin's KEK, the first key's name as the provider name
    return kms_v2("plugin", AEADKMSv2Client(ks[0].secret.reveal(), key_id=ks[0].name))


def _kms_v1(ks: Sequence[Key]) -> Provider:
    return kms_v1("plugin", AEADKMSv1Client(ks[0].secret.reveal()))


CASES: list[Case] = [
    *(Case(f"aescbc-{n}", "aescbc", n, aescbc) for n in (16, 24, 32)),
    *(Case(f"aesgcm-{n}", "aesgcm", n, aesgcm) for n in (16, 24, 32)),
    Case("secretbox-32", "secretbox", 32, secretbox),
    Case("kms-v2", "kms-v2", 32, _kms_v2),
    Case("kms-v1", "kms-v1", 32, _kms_v1),
    Case("identity", "identity", 32, lambda ks: identity()),
]
ENCRYPTING = [c for c in CASES if c.encrypts]
KEYED = [c for c in CASES if c.keyed]

EXPECTED_PREFIX = {
    "aescbc": "k8s:enc:aescbc:v1:{name}:",
    "aesgcm": "k8s:enc:aesgcm:v1:{name}:",
    "secretbox": "k8s:enc:secretbox:v1:{name}:",
    "kms-v2": "k8s:enc:kms:v2:plugin:",
    "kms-v1": "k8s:enc:kms:v1:plugin:",
    "identity": "",
}


def load_config_providers(path: Path) -> list[Provider]:
    """Minimal EncryptionConfiguration reader for the aescbc rotation fixtures.

    Deliberately tiny (the real loader is kcrypt.config, tested on its own):
    the first resource's providers, aescbc/aesgcm/secretbox/identity only.
    """
    doc: dict[str, Any] = json.loads(path.read_text())
    factories = {"aescbc": aescbc, "aesgcm": aesgcm, "secretbox": secretbox}
    providers: list[Provider] = []
    for entry in doc["resources"][0]["providers"]:
        (kind, body), *_ = entry.items()
        if kind == "identity":
            providers.append(identity())
            continue
        ks = [Key(k["name"], SecretBytes(base64.b64decode(k["secret"]))) for k in body["keys"]]
        providers.append(factories[kind](ks))
    return providers
