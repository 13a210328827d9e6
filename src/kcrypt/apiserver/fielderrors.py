"""Field errors as ``k8s.io/apimachinery/pkg/util/validation/field`` words them.

Each returns a :class:`kcrypt.storage.Cause`: the CauseType, the message body
(``Invalid value: "x": <detail>``) and the field path.
"""

from __future__ import annotations

import json
from typing import Any

from kcrypt.storage import Cause

__all__ = ["forbidden", "go_value", "invalid", "not_supported", "required", "too_long"]


def go_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def invalid(field: str, value: Any, detail: str) -> Cause:
    body = f"Invalid value: {go_value(value)}"
    return Cause("FieldValueInvalid", f"{body}: {detail}" if detail else body, field)


def required(field: str, detail: str = "") -> Cause:
    return Cause(
        "FieldValueRequired", f"Required value: {detail}" if detail else "Required value", field
    )


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def not_supported(field: str, shown: str, supported: list[str]) -> Cause:
    """``shown`` is the value as Go's ErrorBody prints it (``"x"``, ``[]string{"x"}``)."""
    values = ", ".join(go_value(v) for v in supported)
    return Cause(
        "FieldValueNotSupported", f"Unsupported value: {shown}: supported values: {values}", field
    )


def too_long(field: str, max_bytes: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be more than {max_bytes} bytes", field)
