"""Every key known: the one place that gathers keys from every source at hand.

A snapshot is only as restorable as the keys its values need. Keys can be

* in an EncryptionConfiguration (the server's current config, any format);
* sealed in a snapshot (the encryption state record as the datastore held it,
  opened with the server token -- k3s keeps its bootstrap data the same way);
* in an RKE cluster state file (``desiredState``/``currentState`` ``encryptionConfig``);
* in a key bundle (``kcrypt keys export``) or this server's imported keyring.

:func:`known_keys` merges them. Keys are told apart by name *and* fingerprint
(``sha256:`` + hex SHA-256 of the key bytes): two clusters may both have a key
called ``aescbckey``. The fingerprint identifies a key in manifests, messages
and bundles; the key itself never leaves :class:`~kcrypt.sensitive.SecretBytes`.

The encryption state keeps the keys it retired (sealed like the config), so a
cluster's own state record knows every key it ever used; snapshots and
bundles carry the same record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import yaml

from kcrypt.config import ConfigError, decode_secret, load
from kcrypt.encryption import STATE_KEY, EncryptionError
from kcrypt.encryption.sealing import StateSealer, TokenSealer, legacy_sealer
from kcrypt.encryption.statestore import decode_state, record_sealing
from kcrypt.sensitive import SecretBytes

__all__ = [
    "LOCAL_PROVIDERS",
    "KeyRing",
    "KnownKey",
    "fingerprint",
    "keys_in_config",
    "keys_in_rkestate",
    "keys_in_sealed_state",
    "known_keys",
]

LOCAL_PROVIDERS = ("aescbc", "aesgcm", "secretbox")


def fingerprint(secret: SecretBytes) -> str:
    return "sha256:" + hashlib.sha256(secret.reveal()).hexdigest()


@dataclass(frozen=True, slots=True)
class KnownKey:
    provider: str
    name: str
    secret: SecretBytes = field(repr=False)
    source: str
    """Where it was found first (``current config``, ``snapshot <name>``, ``bundle``...)."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)


class KeyRing:
    """Known keys by (provider, name); several fingerprints per name are kept apart."""

    def __init__(self, keys: Iterable[KnownKey] = ()) -> None:
        self._keys: dict[tuple[str, str, str], KnownKey] = {}
        for k in keys:
            self.add(k)

    def add(self, key: KnownKey) -> None:
        self._keys.setdefault((key.provider, key.name, key.fingerprint), key)

    def __iter__(self) -> Iterator[KnownKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, provider: str, name: str, fingerprint: str = "") -> KnownKey | None:
        """The key of that name; with a fingerprint, only that very key."""
        for (p, n, f), key in self._keys.items():
            if p == provider and n == name and (not fingerprint or f == fingerprint):
                return key
        return None

    def fingerprints(self) -> dict[tuple[str, str], str]:
        """(provider, name) -> fingerprint of the first key known under that name."""
        out: dict[tuple[str, str], str] = {}
        for p, n, f in self._keys:
            out.setdefault((p, n), f)
        return out


def keys_in_config(data: bytes, *, source: str) -> list[KnownKey]:
    """The local keys of an EncryptionConfiguration (YAML or JSON; k3s's file too)."""
    try:
        config = load(data, source=source).config
    except ConfigError:
        return _keys_in_raw_config(data, source=source)
    out: list[KnownKey] = []
    for entry in config.resources:
        for p in entry.providers:
            for kind in LOCAL_PROVIDERS:
                keys = getattr(p, kind)
                for k in keys.keys if keys is not None else ():
                    out.append(KnownKey(kind, k.name, SecretBytes(decode_secret(k.secret)), source))
    return out


def _keys_in_raw_config(data: bytes, *, source: str) -> list[KnownKey]:
    """Keys of a config kube-apiserver would refuse (a state file's old text): best effort."""
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return []
    out: list[KnownKey] = []
    for entry in (doc or {}).get("resources") or [] if isinstance(doc, dict) else []:
        for p in (entry or {}).get("providers") or []:
            for kind in LOCAL_PROVIDERS:
                for k in ((p or {}).get(kind) or {}).get("keys") or []:
                    try:
                        secret = base64.b64decode(str(k["secret"]), validate=True)
                    except (KeyError, TypeError, binascii.Error):
                        continue
                    out.append(KnownKey(kind, str(k.get("name", "")), SecretBytes(secret), source))
    return out


def keys_in_sealed_state(record: bytes, token: str | None, *, source: str) -> list[KnownKey]:
    """The keys of a token-sealed encryption state record; [] when the token does not open it."""
    if not token:
        return []
    sealer: StateSealer = TokenSealer(token, record_key=STATE_KEY)
    name = record_sealing(record)
    if name != sealer.name:  # a record an earlier kcrypt sealed (snapshots outlive upgrades)
        sealer = legacy_sealer(name, token=token, record_key=STATE_KEY) or sealer
    try:
        state = decode_state(record, sealer=sealer)
    except EncryptionError:
        return []
    retired = [
        KnownKey(r.kind, r.key.name, r.key.secret, f"{source} (retired)") for r in state.retired
    ]
    return [*keys_in_config(state.config, source=source), *retired]


def keys_in_rkestate(data: bytes, *, source: str) -> list[KnownKey]:
    """Keys of an RKE ``cluster.rkestate`` (desired and current ``encryptionConfig``)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return []
    out: list[KnownKey] = []
    for part in ("desiredState", "currentState"):
        text = ((doc.get(part) or {}) if isinstance(doc, dict) else {}).get("encryptionConfig")
        if isinstance(text, str) and text:
            out.extend(keys_in_config(text.encode(), source=source))
    return out


def known_keys(*groups: Sequence[KnownKey]) -> KeyRing:
    """Every key of every source given, the first source's copy of a key winning.

    Callers pass, in order of trust: the current config, keys sealed in the
    snapshot (retired keys included), the RKE state file, key bundles, the
    imported keyring.
    """
    return KeyRing(k for group in groups for k in group)
