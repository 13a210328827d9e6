"""Storage errors: the API meanings of what went wrong with an object.

    StorageError
    ├── NotFound        no object at that key                      (404 NotFound)
    ├── AlreadyExists   create() on a live key                     (409 AlreadyExists)
    ├── Conflict        resourceVersion / precondition mismatch    (409 Conflict)
    ├── Invalid         the object fails validation, with causes   (422 Invalid)
    ├── BadRequest      a selector, continue token or RV is malformed (400 BadRequest)
    ├── Expired         a continue token or watch RV was compacted (410 Expired)
    ├── Forbidden       the operation is never allowed (deleting ``default``,
    │                   creating in a terminating namespace) (403)
    ├── TooLargeResourceVersion  a resourceVersion the store has not reached (504)
    └── InternalError   a stored value cannot be decrypted/decoded (500)

Why the API meanings live here and not in the API server: the re-encryption
controller and the CLI use :class:`ObjectStore` directly and need the same
distinctions (a Conflict is "somebody else rewrote it", NotFound is "deleted
meanwhile"). The API server maps each class to a ``metav1.Status`` in one
table. Messages are kube-apiserver's wording and name the resource, the
object name or the storage key, never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kcrypt.errors import KcryptError

__all__ = [
    "AlreadyExists",
    "BadRequest",
    "Cause",
    "Conflict",
    "Expired",
    "Forbidden",
    "InternalError",
    "Invalid",
    "NotFound",
    "StorageError",
    "TooLargeResourceVersion",
]


class StorageError(KcryptError):
    """Base class of every storage error; ``message`` is the Status message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StorageError):
    def __init__(self, resource: str, name: str) -> None:
        super().__init__(f'{resource} "{name}" not found')
        self.resource = resource
        self.name = name


class AlreadyExists(StorageError):
    def __init__(self, resource: str, name: str) -> None:
        super().__init__(f'{resource} "{name}" already exists')
        self.resource = resource
        self.name = name


class Conflict(StorageError):
    """kube-apiserver's optimistic-concurrency failure (or a failed precondition)."""

    MODIFIED = (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )

    def __init__(self, resource: str, name: str, detail: str = MODIFIED) -> None:
        super().__init__(f'Operation cannot be fulfilled on {resource} "{name}": {detail}')
        self.resource = resource
        self.name = name


@dataclass(frozen=True, slots=True)
class Cause:
    """One field error: ``reason`` is the CauseType (``FieldValueInvalid``),
    ``message`` the error body (``Invalid value: "a b": ...``), ``field`` the path."""

    reason: str
    message: str
    field: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class Invalid(StorageError):
    """``<Kind>[.<group>] "<name>" is invalid: <causes>`` (apierrors.NewInvalid)."""

    def __init__(self, kind: str, name: str, causes: Sequence[Cause], *, group: str = "") -> None:
        unique: list[str] = []
        for c in causes:
            if str(c) not in unique:
                unique.append(str(c))
        qualified = f"{kind}.{group}" if group else kind
        if not unique:
            msg = f'{qualified} "{name}" is invalid'
        elif len(unique) == 1:
            msg = f'{qualified} "{name}" is invalid: {unique[0]}'
        else:
            msg = f'{qualified} "{name}" is invalid: [{", ".join(unique)}]'
        super().__init__(msg)
        self.kind = kind
        self.group = group
        self.name = name
        self.causes = tuple(causes)


class BadRequest(StorageError):
    pass


class Expired(StorageError):
    """``continue_token``: where an expired paged list may carry on (inconsistently)."""

    def __init__(self, message: str, *, continue_token: str = "") -> None:
        super().__init__(message)
        self.continue_token = continue_token


class Forbidden(StorageError):
    """``apierrors.NewForbidden``; ``causes`` go to ``details.causes``."""

    def __init__(
        self, resource: str, name: str, detail: str, *, causes: Sequence[Cause] = ()
    ) -> None:
        target = f'{resource} "{name}"' if name else resource
        super().__init__(f"{target} is forbidden: {detail}")
        self.resource = resource
        self.name = name
        self.causes = tuple(causes)


class TooLargeResourceVersion(StorageError):
    """``storage.NewTooLargeResourceVersionError``: the client is ahead of the store."""

    def __init__(self, wanted: int, current: int) -> None:
        super().__init__(f"Timeout: Too large resource version: {wanted}, current: {current}")
        self.wanted = wanted
        self.current = current


class InternalError(StorageError):
    """A value that cannot be read; the message names the key, never data."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Internal error occurred: {detail}")
        self.detail = detail
