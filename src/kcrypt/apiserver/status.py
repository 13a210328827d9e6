"""Every error -> a ``metav1.Status`` (code, reason, message, details): one table.

The shapes are kube-apiserver's ``apierrors`` constructors: NotFound and
AlreadyExists name the resource in ``details.kind`` (``secrets``), Invalid
names the Kind (``Secret``) and lists ``details.causes`` with field paths,
InternalError carries its message as the single cause. Unexpected exceptions
become a 500 whose message says nothing about the request (the traceback goes
to the log, which never sees bodies).
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from kcrypt import codec, storage
from kcrypt.apiserver.errors import ApiError
from kcrypt.datastore import errors as ds_errors

__all__ = ["Status", "error_status", "status", "success_status"]

log = logging.getLogger("kcrypt.apiserver")


class Status(TypedDict, total=False):
    kind: str
    apiVersion: str
    metadata: dict[str, Any]
    status: str
    message: str
    reason: str
    details: dict[str, Any]
    code: int


def status(
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    continue_token: str = "",
) -> Status:
    body: Status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {"continue": continue_token} if continue_token else {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def success_status(*, name: str, resource: str, uid: str | None = None) -> Status:
    details: dict[str, Any] = {"name": name, "kind": resource}
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _named(exc: Any) -> dict[str, Any]:
    return {"name": exc.name, "kind": exc.resource}


def _causes(causes: Any) -> list[dict[str, str]]:
    return [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]


def error_status(exc: BaseException) -> Status:
    """The Status a client sees for ``exc``."""
    match exc:
        case ApiError():
            return status(exc.code, exc.reason, exc.message, exc.details)
        case storage.NotFound():
            return status(404, "NotFound", exc.message, _named(exc))
        case storage.AlreadyExists():
            return status(409, "AlreadyExists", exc.message, _named(exc))
        case storage.Conflict():
            return status(409, "Conflict", exc.message, _named(exc))
        case storage.Invalid():
            details: dict[str, Any] = {"name": exc.name}
            if exc.group:
                details["group"] = exc.group
            details |= {"kind": exc.kind, "causes": _causes(exc.causes)}
            return status(422, "Invalid", exc.message, details)
        case storage.Forbidden():
            forbidden = _named(exc) | ({"causes": _causes(exc.causes)} if exc.causes else {})
            return status(403, "Forbidden", exc.message, forbidden)
        case storage.BadRequest():
            return status(400, "BadRequest", exc.message)
        case storage.Expired():
            return status(410, "Expired", exc.message, continue_token=exc.continue_token)
        case storage.TooLargeResourceVersion():
            too_large = {
                "reason": "ResourceVersionTooLarge",
                "message": "Too large resource version",
            }
            details = {"causes": [too_large], "retryAfterSeconds": 1}
            return status(504, "Timeout", exc.message, details)
        case storage.InternalError():
            return status(500, "InternalError", exc.message, {"causes": [{"message": exc.detail}]})
        case codec.UnsupportedMediaType():
            return status(415, "UnsupportedMediaType", str(exc))
        case codec.CodecError():
            return status(400, "BadRequest", str(exc))
        case ds_errors.Unavailable() | ds_errors.WriterLocked():
            log.error("datastore unavailable: %s", exc)
            return status(503, "ServiceUnavailable", "the datastore is unavailable")
    log.error("unexpected error handling a request", exc_info=exc)
    return status(
        500,
        "InternalError",
        "Internal error occurred: unexpected server error",
        {"causes": [{"message": "unexpected server error"}]},
    )
