"""API server errors that are not storage errors.

    ApiserverError
    └── ApiError        a request-level failure with its metav1.Status fields:
                        BadRequest (400), Unauthorized (401), NotFound (404, unknown
                        path), MethodNotAllowed (405), NotAcceptable (406),
                        UnsupportedMediaType (415), Invalid (422, JSON patch that
                        cannot apply), InternalError (500)

Storage errors (:mod:`kcrypt.storage.errors`) and codec errors are mapped to
Status in :mod:`kcrypt.apiserver.status`, the one table for that. Messages
are kube-apiserver's and never carry request bodies or secret data.
"""

from __future__ import annotations

from typing import Any

from kcrypt.errors import KcryptError

__all__ = ["ApiError", "ApiserverError"]


class ApiserverError(KcryptError):
    """Base class of the API server's own errors."""


class ApiError(ApiserverError):
    def __init__(
        self, code: int, reason: str, message: str, *, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

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
