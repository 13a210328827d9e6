"""Config errors, and apimachinery's field-error rendering.

    ConfigError
    ├── ConfigLoadError     the file cannot be read, is empty, or does not decode
    ├── ConfigInvalid       decoded, but kube-apiserver's validation rejects it (``.errors``)
    └── ConfigBuildError    valid, but transformers cannot be built (masking, KMS clients)

Messages are kube-apiserver's, byte for byte where upstream's own message holds no
secret, because operators paste them into searches and compare them with what
kube-apiserver says about the same file. Key secrets never appear in any message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from kcrypt.config._go import go_json, go_quote
from kcrypt.errors import KcryptError

__all__ = [
    "ConfigBuildError",
    "ConfigError",
    "ConfigInvalid",
    "ConfigLoadError",
    "FieldError",
    "aggregate_message",
]

REQUIRED: Final = "Required value"
INVALID: Final = "Invalid value"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field error, rendered like apimachinery's ``field.Error``.

    ``value`` is the bad value exactly as upstream passes it (a string, an int,
    a list, or a JSON-ready structure); it is never a key secret: validation
    passes ``"REDACTED"`` for those, as upstream does.
    """

    type: Literal["Required value", "Invalid value"]
    field: str
    detail: str
    value: object = ""

    def body(self) -> str:
        """``ErrorBody()``: the message without the field path."""
        text: str
        if self.type == REQUIRED:
            text = self.type
        elif isinstance(self.value, str):
            text = f"{self.type}: {go_quote(self.value)}"
        elif isinstance(self.value, bool):
            text = f"{self.type}: {'true' if self.value else 'false'}"
        elif isinstance(self.value, int | float):
            text = f"{self.type}: {self.value}"
        else:
            text = f"{self.type}: {go_json(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def aggregate_message(messages: Iterable[object]) -> str:
    """``ErrorList.ToAggregate().Error()``: de-duplicated; one bare, several as ``[a, b]``."""
    seen: list[str] = []
    for message in messages:
        text = str(message)
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


class ConfigError(KcryptError):
    """Base class of every EncryptionConfiguration error."""


class ConfigLoadError(ConfigError):
    """The file could not be read or decoded; the message is kube-apiserver's, fully wrapped."""


class ConfigInvalid(ConfigError):
    """Validation failed. ``errors`` are the field errors in upstream order (de-duplicated)."""

    def __init__(self, errors: Sequence[FieldError], *, wrap: str = "error while parsing file: "):
        unique: list[FieldError] = []
        for err in errors:
            if str(err) not in {str(u) for u in unique}:
                unique.append(err)
        self.errors: tuple[FieldError, ...] = tuple(unique)
        self.aggregate = aggregate_message(self.errors)
        super().__init__(wrap + self.aggregate)


class ConfigBuildError(ConfigError):
    """Transformers could not be built from a valid configuration."""
