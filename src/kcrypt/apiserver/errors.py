"""API server errors that are not storage errors.

    ApiserverError
    ├── ApiError        a request-level failure with its metav1.Status fields:
    │                   BadRequest (400), Unauthorized (401), NotFound (404, unknown
    │                   path), MethodNotAllowed (405), NotAcceptable (406),
    │                   Conflict (409, apply conflicts), RequestEntityTooLarge (413),
    │                   UnsupportedMediaType (415), Invalid (422), InternalError (500)
    └── ClientGone      the client went away in the middle of its request body
                        (:mod:`kcrypt.apiserver.body`; logged once, never answered)

Storage errors (:mod:`kcrypt.storage.errors`) and codec errors are mapped to
Status in :mod:`kcrypt.apiserver.status`, the one table for that. Messages
are kube-apiserver's and never carry request bodies or secret data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kcrypt.errors import KcryptError
from kcrypt.storage import Cause

__all__ = ["ApiError", "ApiserverError", "ClientGone", "invalid_options"]


class ApiserverError(KcryptError):
    """Base class of the API server's own errors."""


class ApiError(ApiserverError):
    """``headers`` go on the response too (``Connection: close`` after a 413)."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, "BadRequest", message)

    @classmethod
    def not_found(cls) -> ApiError:
        return cls(404, "NotFound", "the server could not find the requested resource", details={})

    @classmethod
    def method_not_allowed(cls) -> ApiError:
        return cls(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )


class ClientGone(ApiserverError):
    """The client disconnected before its request body was complete (already logged)."""


def invalid_options(kind: str, causes: Sequence[Cause], *, group: str = "meta.k8s.io") -> ApiError:
    """``apierrors.NewInvalid(GroupKind{group, kind}, "", errs)`` for request options,
    e.g. ``CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ...``."""
    qualified = f"{kind}.{group}" if group else kind
    parts = [str(c) for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"group": group} if group else {}
    details["kind"] = kind
    details["causes"] = [
        {"reason": c.reason, "message": c.message, "field": c.field} for c in causes
    ]
    return ApiError(422, "Invalid", f'{qualified} "" is invalid: {joined}', details=details)
