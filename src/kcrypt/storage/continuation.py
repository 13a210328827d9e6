"""kube-apiserver's list continue token.

``base64url(JSON{"v": "meta.k8s.io/v1", "rv": <revision>, "start": <key after
the resource prefix> + "\\x00"})``, unpadded, exactly as k8s.io/apiserver's
``storage.EncodeContinue`` writes it: the revision pins every later page to
the first page's snapshot, and the trailing NUL makes the next page start
strictly after the last key returned.
"""

from __future__ import annotations

import base64
import binascii
import json

from kcrypt.storage.errors import BadRequest

__all__ = ["TOO_OLD_CONTINUE", "decode_continue", "encode_continue"]

TOO_OLD_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


def encode_continue(key: str, *, key_prefix: str, revision: int) -> str:
    """kube-apiserver's token: base64url(JSON{v, rv, start}) with start = key after prefix + NUL."""
    body = {"v": "meta.k8s.io/v1", "rv": revision, "start": key[len(key_prefix) :] + "\x00"}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_continue(token: str, *, key_prefix: str) -> tuple[str, int]:
    """(key to start strictly after, revision) from a token :func:`encode_continue` made."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
        version, revision, start = body["v"], body["rv"], body["start"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise BadRequest(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)"
        ) from None
    if version != "meta.k8s.io/v1" or not isinstance(revision, int) or not isinstance(start, str):
        raise BadRequest("continue key is not valid: server does not recognize this encoding")
    if revision <= 0 or not start or start.startswith("/") or ".." in start.split("/"):
        raise BadRequest("continue key is not valid: the start key is not a relative path")
    return key_prefix + start.removesuffix("\x00"), revision
