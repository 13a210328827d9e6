"""Reading cluster.yml's values: each check names the field it refused and why."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kcrypt.rke.errors import ClusterFileError

__all__ = [
    "check_fields",
    "known_hosts",
    "mapping",
    "number",
    "path_value",
    "truth",
    "unknown_fields",
    "url_host",
]


def check_fields(
    doc: Mapping[str, Any],
    known: frozenset[str] | set[str],
    prefix: str,
    ignored: list[str],
    *,
    acted: set[str],
) -> None:
    for name in doc:
        if name not in known:
            where = f"{prefix}{name}"
            raise ClusterFileError(
                f"{where}: unknown field (not a field of RKE's cluster.yml; check its spelling)"
            )
        if name not in acted and f"{prefix}{name}" not in ignored:
            ignored.append(f"{prefix}{name}")


def unknown_fields(doc: Mapping[str, Any], known: set[str] | frozenset[str], where: str) -> None:
    for name in doc:
        if name not in known:
            raise ClusterFileError(
                f"{where}.{name}: unknown field; expected one of {', '.join(sorted(known))}"
            )


def mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ClusterFileError(f"{where}: must be a mapping")
    return value


def truth(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ClusterFileError(f"{where}: must be true or false")
    return value


def number(value: object, where: str) -> float:
    if isinstance(value, bool):
        raise ClusterFileError(f"{where}: must be a number")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ClusterFileError(f"{where}: must be a number") from None


def path_value(value: object, base: Path) -> Path | None:
    if value in (None, ""):
        return None
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else base / p


def known_hosts(value: object, base: Path) -> Path | None:
    """``none`` turns host-key checks off (asyncssh's ``known_hosts=None``)."""
    if value == "none":
        return None
    return path_value(value, base) or Path(os.path.expanduser("~/.ssh/known_hosts"))


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address
