"""What a server hands the encryption controller: one small protocol, no upward calls.

The controller decides and persists; the process around it owns the things
only it can do -- building transformers (KMS plugins are its connections),
swapping them into the live storage path, showing progress (logs, metrics,
events), being elected, and acting on what a step changed (compaction is the
controller's own; snapshots and events are the server's). So ``encryption``
never imports ``server``: the server implements :class:`ControllerHooks`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from kcrypt.config import ConfigSnapshot
from kcrypt.encryption.model import EncryptionState, ReencryptProgress
from kcrypt.encryption.steps import Step

__all__ = ["ControllerHooks", "Elector"]

T = TypeVar("T")


class Elector(Protocol):
    """Runs work on exactly one server at a time (a lease in the datastore)."""

    async def run_as_leader(self, work: Callable[[], Awaitable[T]]) -> T: ...


class ControllerHooks(Protocol):
    @property
    def elector(self) -> Elector: ...

    def build_snapshot(self, data: bytes, *, source: str) -> ConfigSnapshot:
        """Load, validate and build ``data`` (raises ``ConfigError``)."""
        ...

    def apply_config(self, snapshot: ConfigSnapshot) -> None:
        """Make ``snapshot`` the live config of every later storage operation, at once."""
        ...

    def progress(self, progress: ReencryptProgress) -> None:
        """A pass moved (a page, its start or its end)."""
        ...

    async def step_done(self, step: Step, state: EncryptionState | None) -> None:
        """An acting step was saved; ``state`` is what it saved. Failures are logged only."""
        ...
