"""The controller's rules: one pure function from stored facts to the next step.

library-go's encryption controllers recompute the desired state on every
sync and wait for every API server at each step; kcrypt does the same. A
controller that crashes (a SIGKILL anywhere) and restarts computes the same
step from the same facts, so there is no "where was I" to remember:

1. No state record: nothing to manage (``idle``).
2. This server runs the cluster's config before anything else: its local
   file is written and its live transformers swapped (``apply``, done by
   every server, elected or not). A local file changed by hand is a
   conflict: the server waits and overwrites nothing.
3. No job: rotate when ``--secrets-encryption-rotation-interval`` has passed
   since the write key started writing, unless servers disagree
   (``rotate``); else ``idle``.
4. A job that stopped on an error waits for an operator command.
5. Every live server runs the state's config before the keys move on
   (library-go's "all API servers converged"; down servers do not block).
6. A key ``rotate-keys`` added reading-only becomes the write key (``promote``).
7. The pass runs, or resumes from its checkpoint (``pass``). A finished pass
   that could not read some values records that error (old keys kept).
8. The old key leaves only after a proof that no value uses it
   (``scan``, then ``remove-key``; a key still in use is an error).
9. The history (old ciphertexts, plaintext after ``enable``) is compacted
   and the stage the command promised recorded (``compact``), or only
   recorded when compaction is off (``finish``).

Every step carries a reason from :mod:`kcrypt.encryption.reasons`, which the
runner stores and ``status`` shows, so an operator always sees why nothing
moves. I/O lives in :mod:`kcrypt.encryption.runner`; this module does none.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from kcrypt.encryption import reasons
from kcrypt.encryption.checkpoint import Checkpoint
from kcrypt.encryption.errors import KeyInUse
from kcrypt.encryption.model import EncryptionState, KeyConfig
from kcrypt.encryption.servers import ServerView, convergence
from kcrypt.encryption.stages import Stage
from kcrypt.encryption.transitions import Removal, removal
from kcrypt.encryption.usage import Proof, key_prefix

__all__ = ["Action", "Facts", "LocalFacts", "Step", "next_step"]


class Action(enum.StrEnum):
    IDLE = "idle"
    WAIT = "wait"
    APPLY = "apply"
    ROTATE = "rotate"
    PROMOTE = "promote"
    PASS = "pass"
    SCAN = "scan"
    REMOVE_KEY = "remove-key"
    RECORD_ERROR = "record-error"
    COMPACT = "compact"
    FINISH = "finish"


_ACTING = frozenset(
    {
        Action.ROTATE,
        Action.PROMOTE,
        Action.PASS,
        Action.SCAN,
        Action.REMOVE_KEY,
        Action.RECORD_ERROR,
        Action.COMPACT,
        Action.FINISH,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What to do next and why. ``wake_at``: when an idle step should be looked at
    again (a scheduled rotation); ``removal``: what ``remove-key`` removes."""

    action: Action
    reason: str
    message: str
    wake_at: float = 0.0
    removal: Removal | None = None

    @property
    def acts(self) -> bool:
        """Changes the cluster's state: only the elected server runs it."""
        return self.action in _ACTING


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalFacts:
    """What this server runs: its own view, not the datastore's."""

    node: str
    applied_hash: str = ""
    published: tuple[str, int] = ("", 0)
    """(stage, generation) of the state this server last published."""
    conflict: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """Everything :func:`next_step` decides from (loaded fresh for every step)."""

    state: EncryptionState | None
    keys: KeyConfig | None
    local: LocalFacts
    servers: tuple[ServerView, ...] = ()
    checkpoint: Checkpoint | None = None
    proof: Proof | None = None
    now: float = 0.0
    rotation_interval: float = 0.0
    compaction: bool = True


def _step(action: Action, reason: str, message: str, **extra: object) -> Step:
    return Step(action=action, reason=reason, message=message, **extra)  # type: ignore[arg-type]


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def next_step(f: Facts) -> Step:
    """The numbered rules of the module docstring, in order."""
    s = f.state
    # 1. nothing to manage
    if s is None:
        return _step(Action.IDLE, reasons.NO_ENCRYPTION_STATE, "no encryption state yet")
    # 2. this server runs the cluster's config first
    if f.local.conflict:
        return _step(Action.WAIT, reasons.LOCAL_CONFIG_CONFLICT, f.local.conflict)
    if f.local.applied_hash != s.config_hash or f.local.published != (s.stage.value, s.generation):
        return _step(
            Action.APPLY,
            reasons.CONFIG_NOT_APPLIED,
            f"{f.local.node} applies config {s.config_hash[:12]} (generation {s.generation})",
        )
    job = s.job
    # 3. scheduled rotation
    if job is None:
        return _schedule(f, s)
    # 4. a stopped job waits for the operator
    if job.error:
        return _step(Action.WAIT, reasons.REENCRYPT_FAILED, job.error)
    # 5. every live server runs the state's config
    conv = convergence(f.servers, s.config_hash)
    if not conv.all_applied:
        return _step(
            Action.WAIT,
            reasons.SERVERS_NOT_CONVERGED,
            f"waiting for {', '.join(conv.lagging)} to apply config {s.config_hash[:12]}",
        )
    # 6. the new key writes once everyone reads it
    if job.promote:
        return _step(
            Action.PROMOTE,
            reasons.WRITE_KEY_NOT_PROMOTED,
            "every live server reads the new key: it becomes the write key",
        )
    # 7. the pass
    ck = f.checkpoint
    if ck is None or ck.config_hash != job.config_hash or not ck.finished:
        resuming = ck is not None and ck.config_hash == job.config_hash and ck.done > 0
        return _step(
            Action.PASS,
            reasons.VALUES_NOT_REENCRYPTED,
            f"resuming the re-encryption after {ck.last_key} ({ck.done}/{ck.total})"
            if resuming and ck is not None
            else f"re-encrypting every value under config {job.config_hash[:12]}",
        )
    if ck.failed:
        return _step(
            Action.RECORD_ERROR,
            reasons.UNREADABLE_VALUES,
            f"{ck.failed} values could not be read with the config's keys; old keys kept",
        )
    # 8. the old key leaves after a proof
    if job.remove_key and not job.removed and f.keys is not None:
        rm = removal(f.keys, provider=s.provider)
        if rm.removed:
            return _removal(f, rm, job.config_hash)
    # 9. the history, then the stage
    if f.compaction:
        return _step(
            Action.COMPACT,
            reasons.HISTORY_NOT_COMPACTED,
            "compacting the datastore's history so no old revision keeps a replaced value",
        )
    return _step(
        Action.FINISH, reasons.STAGE_NOT_RECORDED, f"recording stage {job.after_stage.value}"
    )


def _removal(f: Facts, rm: Removal, config_hash: str) -> Step:
    names = ", ".join(name for _, name in rm.removed)
    proof = f.proof
    if proof is None or proof.config_hash != config_hash:
        return _step(
            Action.SCAN,
            reasons.KEY_REMOVAL_NOT_PROVEN,
            f"proving that no stored value uses {names}",
        )
    blocking = [n for k, n in rm.removed if proof.usage.get(key_prefix(k, n), 0) > 0]
    if blocking:
        prefixes = ", ".join(f.checkpoint.prefixes) if f.checkpoint else "the store"
        return _step(
            Action.RECORD_ERROR,
            reasons.KEY_IN_USE,
            str(KeyInUse(blocking, proof.usage, prefix=prefixes)),
        )
    return _step(Action.REMOVE_KEY, reasons.OLD_KEY_NOT_REMOVED, rm.message, removal=rm)


def _schedule(f: Facts, s: EncryptionState) -> Step:
    """Rule 3: rotate on schedule, never while servers disagree."""
    rotating = (
        f.rotation_interval > 0
        and f.keys is not None
        and f.keys.enabled
        and s.stage in (Stage.START, Stage.REENCRYPT_FINISHED)
    )
    if not rotating:
        return _step(Action.IDLE, reasons.IDLE, "nothing to do")
    due = s.activated + f.rotation_interval
    if f.now < due:
        return _step(
            Action.IDLE,
            reasons.ROTATION_SCHEDULED,
            f"next key rotation at {_when(due)}",
            wake_at=due,
        )
    conv = convergence(f.servers, s.config_hash)
    if not conv.agreed:
        return _step(
            Action.WAIT,
            reasons.SERVERS_DISAGREE,
            f"key rotation is due but servers disagree: {conv.hash_error}",
        )
    return _step(
        Action.ROTATE,
        reasons.ROTATION_INTERVAL_HAS_PASSED,
        f"the write key is older than the rotation interval ({f.rotation_interval:g}s)",
    )
