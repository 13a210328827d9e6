"""kube-apiserver's list continue token.

``base64url(JSON{"v": "meta.k8s.io/v1", "rv": <revision>, "start": <key after
the resource prefix> + "\\x00"})``, unpadded, exactly as k8s.io/apiserver's
``storage.EncodeContinue`` writes it: the revision pins every later page to
the first page's snapshot, and the trailing NUL makes the next page start
strictly after the last key returned. A token whose revision was compacted
is answered 410 with a new token for the same start key at ``rv: -1``,
which means "continue at the latest revision" (inconsistent, but complete).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath

from kcrypt.storage.errors import BadRequest

__all__ = ["TOO_OLD_CONTINUE", "TOO_OLD_LIST", "decode_continue", "encode_continue"]

TOO_OLD_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)
TOO_OLD_LIST = "The resourceVersion for the provided list is too old."
_INVALID = "invalid continue token: continue key is not valid"


def encode_continue(key: str, *, key_prefix: str, revision: int) -> str:
    """A token that starts strictly after ``key`` at ``revision`` (-1: the latest)."""
    body = {"v": "meta.k8s.io/v1", "rv": revision, "start": key[len(key_prefix) :] + "\x00"}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_continue(token: str, *, key_prefix: str) -> tuple[str, int]:
    """(key to start strictly after, revision; 0 = the latest) from a token."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
        version, revision, start = body["v"], body["rv"], body["start"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise BadRequest(f"{_INVALID}: {type(exc).__name__}") from None
    if version != "meta.k8s.io/v1":
        raise BadRequest(f"{_INVALID}: server does not recognize this encoded version")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision == 0:
        raise BadRequest(
            f"{_INVALID}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    if not isinstance(start, str) or not start:
        raise BadRequest(f"{_INVALID}: encoded start key empty (version meta.k8s.io/v1)")
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key or key.startswith("//"):  # path traversal
        raise BadRequest(f"{_INVALID}: {start!r}")
    return key_prefix + key[1:].removesuffix("\x00"), max(revision, 0)
