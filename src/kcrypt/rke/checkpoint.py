"""Where a rewrite pass stands, so a killed run resumes instead of starting over.

One small JSON file (no values, no keys: resource names, a continue token and
the last object done)::

    {"id": "<pass id>", "resources": {"secrets": {"done": false,
      "continue": "<token>", "after": "default/s-00412", "counts": {...}}}}

It is saved after every completed page. ``after`` is the storage order
(``namespace/name``) of the last object of that page: if the continue token
has expired by the time the run resumes (410), the list starts again from the
top and skips everything up to ``after`` -- those objects were already
rewritten, and anything written since was written by servers that already
write under the new key. A checkpoint with another ``id`` belongs to another
pass and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcrypt.files import write_atomic

__all__ = ["Checkpoint"]


@dataclass
class Checkpoint:
    path: Path | None
    """None: kept in memory only (a run that cannot resume)."""
    id: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path | None, *, id: str) -> Checkpoint:
        if path is None or not path.exists():
            return cls(path, id)
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(path, id)
        if not isinstance(doc, dict) or doc.get("id") != id:
            return cls(path, id)
        return cls(path, id, dict(doc.get("resources") or {}))

    def entry(self, resource: str) -> dict[str, Any]:
        return self.resources.setdefault(resource, {"done": False, "counts": {}})

    def save(self) -> None:
        if self.path is not None:
            data = json.dumps({"id": self.id, "resources": self.resources}, indent=1)
            write_atomic(self.path, data.encode())

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
