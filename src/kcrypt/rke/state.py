"""cluster.rkestate: RKE's cluster state file, with kcrypt's additions.

The shape is RKE's ``FullState`` (``cluster/state.go``)::

    {"desiredState": {"rkeConfig": {...}, "encryptionConfig": "<rendered YAML>"},
     "currentState": {"rkeConfig": {...}, "encryptionConfig": "<rendered YAML>"},
     "kcrypt": {"retiredKeys": [...], "operation": {...}}}

* ``desiredState.encryptionConfig`` is the config kcrypt is moving to;
  ``currentState.encryptionConfig`` the last one *every* controlplane API
  server was proven to run (updated after each phase, so a rerun knows exactly
  where the cluster is). RKE's own file reads the same way, so kcrypt can take
  over an RKE cluster's keys; fields kcrypt does not know (certificatesBundle,
  the rest of rkeConfig) are kept as they are.
* ``kcrypt.retiredKeys`` keeps every key that left the config, so snapshots
  taken before a rotation stay readable; ``kcrypt.operation`` is the change in
  progress (its phase configs, the next step), written before anything is
  deployed so that a killed ``kcrypt up`` resumes it.

The file holds every key, so it is written 0600 and atomically by
:func:`kcrypt.files.write_atomic`, and with a passphrase it is sealed whole by
:mod:`kcrypt.passphrase` (scrypt + AES-256-GCM). Once sealed it is never
written in clear again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kcrypt.config import ConfigError, EncryptionConfiguration, load
from kcrypt.files import write_atomic
from kcrypt.passphrase import SealedFormatError, WrongPassphrase, is_sealed, open_sealed, seal
from kcrypt.rke.desired import Current
from kcrypt.rke.errors import StateFileError
from kcrypt.rke.keyset import key_names

__all__ = ["AAD", "StateFile", "rke_config"]

AAD = b"kcrypt cluster.rkestate"


def rke_config(
    *, enabled: bool, custom: Mapping[str, Any] | None, present: bool = True
) -> dict[str, Any]:
    """The part of RKE's ``rkeConfig`` (JSON names) that says which encryption was asked for."""
    block: dict[str, Any] = {"enabled": enabled}
    if custom is not None:
        block["customConfig"] = dict(custom)
    api: dict[str, Any] = {"secretsEncryptionConfig": block} if present else {}
    return {"services": {"kubeApi": api}}


class StateFile:
    """The state document, loaded once, changed in place, saved whole."""

    def __init__(self, path: Path, doc: dict[str, Any], *, passphrase: str | None) -> None:
        self.path = path
        self.doc = doc
        self._passphrase = passphrase

    @classmethod
    def load(cls, path: Path, *, passphrase: str | None = None) -> StateFile:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path, {}, passphrase=passphrase)
        except OSError as exc:
            raise StateFileError(f"can not read state file {path}: {exc.strerror}") from None
        if is_sealed(raw):
            if not passphrase:
                raise StateFileError(
                    f"state file {path} is sealed with a passphrase: pass --state-passphrase-file "
                    f"or set KCRYPT_STATE_PASSPHRASE"
                )
            try:
                raw = open_sealed(raw, passphrase, aad=AAD, what=f"state file {path}")
            except (WrongPassphrase, SealedFormatError) as exc:
                raise StateFileError(str(exc)) from None
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise StateFileError(f"state file {path} is not JSON") from None
        if not isinstance(doc, dict):
            raise StateFileError(f"state file {path} is not a JSON object")
        return cls(path, doc, passphrase=passphrase)

    def save(self) -> None:
        data = json.dumps(self.doc, indent=2).encode() + b"\n"
        if self._passphrase:
            data = seal(data, self._passphrase, aad=AAD).encode() + b"\n"
        write_atomic(self.path, data)

    # -- RKE's states ------------------------------------------------------------------

    def _state(self, which: str) -> dict[str, Any]:
        state = self.doc.setdefault(which, {})
        if not isinstance(state, dict):
            raise StateFileError(f"state file {self.path}: {which} is not an object")
        return state

    def _config(self, which: str) -> tuple[EncryptionConfiguration | None, bytes | None]:
        text = self._state(which).get("encryptionConfig") or ""
        if not text:
            return None, None
        data = text.encode()
        try:
            return load(data, source=f"{self.path} ({which}.encryptionConfig)").config, data
        except ConfigError as exc:
            raise StateFileError(
                f"state file {self.path}: {which}.encryptionConfig: {exc}"
            ) from None

    def current(self) -> Current:
        config, rendered = self._config("currentState")
        api = ((self._state("currentState").get("rkeConfig") or {}).get("services") or {}).get(
            "kubeApi"
        ) or {}
        block = api.get("secretsEncryptionConfig")
        mode: str | None = None
        custom = None
        if isinstance(block, dict):
            custom = block.get("customConfig") or None
            mode = "disabled" if not block.get("enabled") else "custom" if custom else "managed"
        elif config is not None:
            mode = "managed"
        return Current(config=config, rendered=rendered, mode=mode, custom=custom)

    def desired_rendered(self) -> bytes | None:
        return self._config("desiredState")[1]

    def set_current(self, rendered: bytes | None, *, rke: Mapping[str, Any] | None = None) -> None:
        state = self._state("currentState")
        state["encryptionConfig"] = rendered.decode() if rendered else ""
        if rke is not None:
            _merge_rke(state, rke)

    def set_desired(self, rendered: bytes | None, *, rke: Mapping[str, Any]) -> None:
        state = self._state("desiredState")
        state["encryptionConfig"] = rendered.decode() if rendered else ""
        _merge_rke(state, rke)

    # -- kcrypt's additions -----------------------------------------------------------

    def _ext(self) -> dict[str, Any]:
        ext = self.doc.setdefault("kcrypt", {"version": 1})
        if not isinstance(ext, dict):
            raise StateFileError(f"state file {self.path}: kcrypt is not an object")
        return ext

    @property
    def operation(self) -> dict[str, Any] | None:
        op = self._ext().get("operation")
        return op if isinstance(op, dict) else None

    @operation.setter
    def operation(self, op: dict[str, Any] | None) -> None:
        if op is None:
            self._ext().pop("operation", None)
        else:
            self._ext()["operation"] = op

    def retired(self) -> list[dict[str, Any]]:
        return list(self._ext().get("retiredKeys") or [])

    def retire(self, keys: Mapping[tuple[str, str], str]) -> None:
        """Keep ``{(provider, name): secret}`` among the retired keys (once each)."""
        have = {(k["provider"], k["name"]) for k in self.retired()}
        out = self.retired()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for (provider, name), secret in sorted(keys.items()):
            if (provider, name) not in have:
                out.append(
                    {"provider": provider, "name": name, "secret": secret, "retiredAt": stamp}
                )
        self._ext()["retiredKeys"] = out

    def taken_names(self) -> set[str]:
        """Every key name this cluster ever used (so none is given out twice)."""
        names = {k["name"] for k in self.retired()}
        for which in ("currentState", "desiredState"):
            names |= key_names(self._config(which)[0])
        op = self.operation or {}
        for phase in op.get("phases") or []:
            try:
                names |= key_names(load(phase["config"].encode()).config)
            except (ConfigError, KeyError, AttributeError):
                continue
        return names


def _merge_rke(state: dict[str, Any], rke: Mapping[str, Any]) -> None:
    """Replace the encryption block of ``rkeConfig``, keeping the rest of RKE's fields."""
    config = state.setdefault("rkeConfig", {})
    services = config.setdefault("services", {})
    api = services.setdefault("kubeApi", {})
    block = ((rke.get("services") or {}).get("kubeApi") or {}).get("secretsEncryptionConfig")
    if block is None:
        api.pop("secretsEncryptionConfig", None)
    else:
        api["secretsEncryptionConfig"] = block
