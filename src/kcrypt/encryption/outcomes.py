"""The state each command and each controller step saves (pure).

A command (``secrets-encrypt ...``) and the controller's acting steps all end
the same way: one new :class:`EncryptionState`, saved with compare-and-swap
on the revision the decision was made from. Computing that state is pure and
lives here, so the handlers and the runner only load, save and apply.

``rotate-keys`` (and a scheduled rotation) never makes a new key the write
key at once: the key joins the config reading-only, and the controller
promotes it once every live server applied that config
(:mod:`kcrypt.encryption.rollout`). A cluster of one takes the same path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kcrypt.encryption.configjson import config_sha256, parse_config, render_config
from kcrypt.encryption.model import (
    EncryptionState,
    KeyConfig,
    KeyProvider,
    ReencryptJob,
    RetiredKey,
)
from kcrypt.encryption.rollout import promoted_config, staged_config
from kcrypt.encryption.stages import Command, ParsedRequest, Stage
from kcrypt.encryption.transitions import KeyFactory, Plan, Removal, new_key_factory, plan

__all__ = [
    "Decision",
    "decide",
    "failed_state",
    "finished_state",
    "promoted_state",
    "removed_state",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A command's plan and the state it saves (``state`` None: nothing changes).

    ``written``: the config the command writes now (staged for ``rotate-keys``).
    """

    plan: Plan
    written: KeyConfig
    state: EncryptionState | None


def _activated(old: EncryptionState | None, new_config: KeyConfig, now: float) -> float:
    """When the write key started writing: now if this change gives a new write key."""
    before = parse_config(old.config).write_prefix if old is not None else None
    if old is not None and before == new_config.write_prefix:
        return old.activated
    return now


def decide(
    state: EncryptionState | None,
    request: ParsedRequest,
    *,
    provider: KeyProvider,
    node: str,
    now: float,
    file_config: bytes | None = None,
    hash_error: str | None = None,
    make_key: KeyFactory | None = None,
    scheduled: bool = False,
) -> Decision:
    """Plan ``request`` against ``state`` (or, with no record, ``file_config``)."""
    if state is None and file_config is not None:
        state = EncryptionState(
            config=file_config,
            stage=Stage.START,
            config_hash=config_sha256(file_config),
            provider=provider,
            generation=0,
        )
    config = parse_config(state.config) if state else None
    stage = state.stage if state else Stage.START
    previous = None
    if state is not None and state.job is not None and stage is Stage.REENCRYPT_ACTIVE:
        previous = Stage.ROTATE if state.job.remove_key else state.job.after_stage
    outcome = plan(
        config,
        stage,
        request,
        provider=provider,
        node=node,
        hash_error=hash_error,
        previous_stage=previous,
        make_key=make_key or new_key_factory,
    )
    written = outcome.config
    promote = request.command is Command.ROTATE_KEYS
    if promote:  # the new key is readable everywhere before it writes
        written = staged_config(config, provider, outcome.config.keys_of(provider)[0])
    if not outcome.changed and not outcome.reencrypt:
        return Decision(plan=outcome, written=written, state=None)
    data = render_config(written) if outcome.changed or state is None else state.config
    digest = config_sha256(data)
    job = None
    if outcome.reencrypt:
        job = ReencryptJob(
            config_hash=digest,
            remove_key=outcome.remove_key,
            after_stage=outcome.after_stage,
            started=now,
            promote=promote,
            scheduled=scheduled,
        )
    new = EncryptionState(
        config=data,
        stage=outcome.stage,
        config_hash=digest,
        provider=provider,
        job=job,
        generation=(state.generation + 1) if state else 1,
        activated=_activated(state if state and state.generation else None, written, now),
        retired=state.retired if state else (),
    )
    return Decision(plan=outcome, written=written, state=new)


def promoted_state(state: EncryptionState, *, now: float) -> EncryptionState:
    """Step ``promote``: the staged key writes; the job now runs under that config."""
    assert state.job is not None and state.job.promote
    data = render_config(promoted_config(parse_config(state.config), state.provider))
    digest = config_sha256(data)
    return replace(
        state,
        config=data,
        config_hash=digest,
        job=replace(state.job, config_hash=digest, promote=False),
        generation=state.generation + 1,
        activated=now,
    )


def removed_state(state: EncryptionState, rm: Removal, *, now: float) -> EncryptionState:
    """Step ``remove-key``: the smaller config; the removed keys are kept as retired."""
    assert state.job is not None
    data = render_config(rm.config)
    keys = parse_config(state.config).all_keys_by_name()
    retired = tuple(RetiredKey(kind=kind, key=keys[name], retired=now) for kind, name in rm.removed)
    return replace(
        state,
        config=data,
        config_hash=config_sha256(data),
        job=replace(state.job, removed=True),
        generation=state.generation + 1,
        retired=(*state.retired, *retired),
    )


def finished_state(state: EncryptionState) -> EncryptionState:
    """Steps ``compact`` / ``finish``: the stage the command promised; no job."""
    assert state.job is not None
    return replace(state, stage=state.job.after_stage, job=None, generation=state.generation + 1)


def failed_state(state: EncryptionState, error: str) -> EncryptionState:
    """Step ``record-error``: the job stops; an operator command restarts it."""
    assert state.job is not None
    return replace(state, job=replace(state.job, error=error), generation=state.generation + 1)
