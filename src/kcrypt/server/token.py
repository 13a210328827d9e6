"""The admin bearer token: generated once, or taken from ``--token``.

The token is the only credential of the API, so it lives in one 0600 file,
``<data-dir>/server/token``. A ``--token`` that differs from the stored one is
an error rather than a silent switch: kubeconfigs already handed out carry the
old token, and (like k3s) the token will also seal cluster state in the
datastore, so changing it is a deliberate act.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from kcrypt.files import write_atomic
from kcrypt.server.errors import InvalidSettings, TokenMismatch

__all__ = ["MIN_TOKEN_LENGTH", "ensure_token", "read_token_file"]

_TOKEN_BYTES = 32
MIN_TOKEN_LENGTH = 16
"""A token seals every encryption key in the datastore (scrypt makes guessing
slow, not impossible): a short one would be the weakest link."""


def ensure_token(path: Path, *, given: str | None) -> str:
    """The token to serve with: the stored one, ``given``, or a new one.

    Raises TokenMismatch when ``given`` differs from the stored token.
    """
    if given is not None:
        given = given.strip()
        if not given or any(c.isspace() for c in given):
            raise InvalidSettings("--token must be non-empty and contain no whitespace")
        if len(given) < MIN_TOKEN_LENGTH:
            raise InvalidSettings(
                f"--token must be at least {MIN_TOKEN_LENGTH} characters (got {len(given)}): "
                "it seals every encryption key in the datastore; leave it out to have one "
                "generated, or use e.g. 'openssl rand -hex 32'"
            )
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            if given is not None and not hmac.compare_digest(given, stored):
                raise TokenMismatch(path)
            return stored
    token = given if given is not None else secrets.token_hex(_TOKEN_BYTES)
    write_atomic(path, (token + "\n").encode())
    return token


def read_token_file(path: Path) -> str:
    """``--token-file``: the token from a file, so it never shows in ``ps`` or shell history."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InvalidSettings(
            f"--token-file {path}: {(exc.strerror or str(exc)).lower()}"
        ) from None
    if not text:
        raise InvalidSettings(f"--token-file {path} is empty")
    return text
