"""Loading an EncryptionConfiguration the way kube-apiserver does.

Pipeline and wrapper messages follow ``loadConfig`` / ``LoadEncryptionConfig``
(k8s.io/apiserver ``pkg/server/options/encryptionconfig/config.go``):
read (``error while loading file: ...``), hash, decode strictly
(``error decoding encryption provider configuration file "...": ...``),
validate; every failure is wrapped ``error while parsing file: ...``.
``load`` is pure; ``load_file`` only reads the named file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kcrypt.config._decode import DecodeError, UnexpectedConfigType, decode
from kcrypt.config._go import go_quote
from kcrypt.config.errors import ConfigInvalid, ConfigLoadError
from kcrypt.config.hashing import config_hash
from kcrypt.config.model import EncryptionConfiguration
from kcrypt.config.validate import validate

__all__ = ["LoadedConfig", "load", "load_file"]

PARSING = "error while parsing file: "


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A valid config, the hash of its file and the file's bytes (not shown in repr)."""

    config: EncryptionConfiguration
    hash: str
    raw: bytes = field(repr=False)


def load(data: bytes, *, reload: bool = False, source: str = "<memory>") -> LoadedConfig:
    """Decode and validate ``data``; ``source`` names the file in messages.

    ``reload=True`` applies the automatic-reload rule that KMS v1 provider
    names must be unique too.
    """
    if not data:
        raise ConfigLoadError(
            f"{PARSING}error while loading file: encryption provider configuration file "
            f"{go_quote(source)} is empty"
        )
    digest = config_hash(data)
    message = ""
    try:
        config = decode(data)
    except DecodeError as exc:
        message = f"error decoding encryption provider configuration file {go_quote(source)}: {exc}"
    except UnexpectedConfigType as exc:
        message = f"got unexpected config type: {exc}"
    if message:
        # Raised outside the except block: no chained parser exception, which
        # could quote a line of the file, follows this error around.
        raise ConfigLoadError(PARSING + message)
    errors = validate(config, reload=reload)
    if errors:
        raise ConfigInvalid(errors, wrap=PARSING)
    return LoadedConfig(config=config, hash=digest, raw=data)


def load_file(path: str | os.PathLike[str], *, reload: bool = False) -> LoadedConfig:
    """Read ``path`` and :func:`load` it; read errors are worded like Go's ``os.ReadFile``."""
    name = os.fspath(path)
    message = ""
    try:
        with open(name, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        message = f"read {name}: is a directory"
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = f"open {name}: {reason[:1].lower()}{reason[1:]}"
    if message:
        raise ConfigLoadError(
            f"{PARSING}error while loading file: error reading encryption provider "
            f"configuration file {go_quote(name)}: {message}"
        )
    return load(data, reload=reload, source=name)
