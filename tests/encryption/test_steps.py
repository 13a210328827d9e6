"""``next_step``: one table row per rule, named as the sentence the rule says."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kcrypt.encryption import (
    Action,
    Checkpoint,
    EncryptionState,
    Facts,
    LocalFacts,
    Proof,
    ReencryptJob,
    Stage,
    config_sha256,
    key_prefix,
    next_step,
    render_config,
)
from kcrypt.encryption.servers import ServerRecord, ServerView

from ._configs import cfg

ROTATED = cfg("aescbc[k1,k0] identity")
DATA = render_config(ROTATED)
HASH = config_sha256(DATA)
NOW = 1_000_000.0


def job(**kw: object) -> ReencryptJob:
    args: dict[str, object] = {
        "config_hash": HASH,
        "remove_key": True,
        "after_stage": Stage.REENCRYPT_FINISHED,
        "started": NOW - 10,
    }
    args.update(kw)
    return ReencryptJob(**args)  # type: ignore[arg-type]


def state(j: ReencryptJob | None = None, **kw: object) -> EncryptionState:
    args: dict[str, object] = {
        "config": DATA,
        "stage": Stage.REENCRYPT_ACTIVE if j else Stage.START,
        "config_hash": HASH,
        "provider": "aescbc",
        "job": j,
        "generation": 3,
        "activated": NOW - 100,
    }
    args.update(kw)
    return EncryptionState(**args)  # type: ignore[arg-type]


def server(node: str, h: str = HASH, *, live: bool = True, stage: str = "start") -> ServerView:
    return ServerView(ServerRecord(node, h, stage, generation=3), live)


def ckpt(*, finished: bool = True, failed: int = 0, config_hash: str = HASH) -> Checkpoint:
    return Checkpoint(
        config_hash=config_hash,
        prefixes=("/registry/secrets/",),
        prefix="/registry/secrets/",
        last_key="/registry/secrets/ns/s9",
        total=10,
        done=10 if finished else 4,
        failed=failed,
        started=NOW - 5,
        finished=finished,
        start_revision=7,
    )


def facts(s: EncryptionState | None, **kw: object) -> Facts:
    stage = s.stage.value if s else ""
    local = LocalFacts(
        node="s1",
        applied_hash=s.config_hash if s else "",
        published=(stage, s.generation if s else 0),
    )
    args: dict[str, object] = {
        "state": s,
        "keys": ROTATED if s else None,
        "local": local,
        "servers": (server("s1", stage=stage),),
        "now": NOW,
    }
    args.update(kw)
    return Facts(**args)  # type: ignore[arg-type]


def proof(usage: dict[str, int]) -> Proof:
    return Proof(config_hash=HASH, usage=usage, checked=1, full=False)


RUNNING = state(job())
CASES: dict[str, tuple[Facts, Action, str]] = {
    "1. with no state record there is nothing to manage": (
        facts(None),
        Action.IDLE,
        "no-encryption-state",
    ),
    "2. a server that has not applied the state's config applies it first": (
        replace(facts(RUNNING), local=LocalFacts(node="s1", applied_hash="other")),
        Action.APPLY,
        "config-not-applied-here",
    ),
    "2. a server that applied the config but published an older generation applies again": (
        replace(
            facts(RUNNING),
            local=LocalFacts(node="s1", applied_hash=HASH, published=("reencrypt_active", 2)),
        ),
        Action.APPLY,
        "config-not-applied-here",
    ),
    "2. a local file changed by hand makes the server wait, overwriting nothing": (
        replace(facts(RUNNING), local=LocalFacts(node="s1", conflict="changed by hand")),
        Action.WAIT,
        "local-config-changed-by-hand",
    ),
    "3. with no job and no schedule there is nothing to do": (
        facts(state()),
        Action.IDLE,
        "idle",
    ),
    "3. a rotation interval not yet over leaves the controller idle until then": (
        facts(state(), rotation_interval=1000.0),
        Action.IDLE,
        "rotation-scheduled",
    ),
    "3. a write key older than the rotation interval is rotated": (
        facts(state(), rotation_interval=50.0),
        Action.ROTATE,
        "rotation-interval-has-passed",
    ),
    "3. a due rotation waits while a server is down": (
        facts(state(), rotation_interval=50.0, servers=(server("s1"), server("s2", live=False))),
        Action.WAIT,
        "servers-disagree",
    ),
    "3. a due rotation waits while a server runs another config": (
        facts(state(), rotation_interval=50.0, servers=(server("s1"), server("s2", "x" * 64))),
        Action.WAIT,
        "servers-disagree",
    ),
    "3. a disabled config is never rotated on schedule": (
        facts(
            state(config=render_config(cfg("identity aescbc[k0]"))),
            keys=cfg("identity aescbc[k0]"),
            rotation_interval=50.0,
        ),
        Action.IDLE,
        "idle",
    ),
    "3. no rotation on schedule in the middle of the classic procedure": (
        facts(state(stage=Stage.PREPARE), rotation_interval=50.0),
        Action.IDLE,
        "idle",
    ),
    "4. a job that stopped on an error waits for an operator command": (
        facts(state(job(error="3 values could not be read"))),
        Action.WAIT,
        "reencrypt-failed",
    ),
    "5. a job waits until every live server applied the state's config": (
        facts(RUNNING, servers=(server("s1"), server("s2", "y" * 64))),
        Action.WAIT,
        "servers-not-converged",
    ),
    "5. a down server does not hold a job up": (
        facts(RUNNING, servers=(server("s1"), server("s2", "y" * 64, live=False))),
        Action.PASS,
        "values-not-reencrypted",
    ),
    "6. a key added reading-only is promoted once everyone reads it": (
        facts(state(job(promote=True))),
        Action.PROMOTE,
        "write-key-not-promoted",
    ),
    "7. a job without a checkpoint starts the pass": (
        facts(RUNNING),
        Action.PASS,
        "values-not-reencrypted",
    ),
    "7. an unfinished checkpoint of this job resumes the pass": (
        facts(RUNNING, checkpoint=ckpt(finished=False)),
        Action.PASS,
        "values-not-reencrypted",
    ),
    "7. a finished checkpoint of another config does not count": (
        facts(RUNNING, checkpoint=ckpt(config_hash="z" * 64)),
        Action.PASS,
        "values-not-reencrypted",
    ),
    "7. a pass that could not read some values records that error": (
        facts(RUNNING, checkpoint=ckpt(failed=3)),
        Action.RECORD_ERROR,
        "unreadable-values",
    ),
    "8. a finished pass is followed by the proof before any key goes": (
        facts(RUNNING, checkpoint=ckpt()),
        Action.SCAN,
        "key-removal-not-proven",
    ),
    "8. a proof of another config does not count": (
        facts(
            RUNNING,
            checkpoint=ckpt(),
            proof=replace(proof({}), config_hash="z" * 64),
        ),
        Action.SCAN,
        "key-removal-not-proven",
    ),
    "8. a proof that a value still uses the old key records the error and keeps the key": (
        facts(RUNNING, checkpoint=ckpt(), proof=proof({key_prefix("aescbc", "k0"): 2})),
        Action.RECORD_ERROR,
        "key-still-in-use",
    ),
    "8. a proof that no value uses the old key removes it": (
        facts(RUNNING, checkpoint=ckpt(), proof=proof({key_prefix("aescbc", "k1"): 4})),
        Action.REMOVE_KEY,
        "old-key-not-removed",
    ),
    "9. after the removal the history is compacted": (
        facts(state(job(removed=True)), checkpoint=ckpt()),
        Action.COMPACT,
        "history-not-compacted",
    ),
    "9. a pass that removes no key (enable, disable, --skip) is compacted too": (
        facts(state(job(remove_key=False)), checkpoint=ckpt()),
        Action.COMPACT,
        "history-not-compacted",
    ),
    "9. with compaction off the stage is only recorded": (
        facts(state(job(remove_key=False)), checkpoint=ckpt(), compaction=False),
        Action.FINISH,
        "stage-not-recorded",
    ),
    "9. a single key to keep (switched from identity) needs no proof": (
        facts(
            state(job(), config=render_config(cfg("aescbc[k1] identity"))),
            keys=cfg("aescbc[k1] identity"),
            checkpoint=ckpt(),
        ),
        Action.COMPACT,
        "history-not-compacted",
    ),
}


@pytest.mark.parametrize(("given", "action", "reason"), CASES.values(), ids=CASES.keys())
def test_next_step(given: Facts, action: Action, reason: str) -> None:
    step = next_step(given)
    assert (step.action, step.reason) == (action, reason), step.message


def test_the_rotation_wakes_the_controller_when_it_is_due() -> None:
    step = next_step(facts(state(), rotation_interval=1000.0))
    assert step.wake_at == NOW - 100 + 1000.0
    assert "next key rotation at" in step.message


def test_remove_key_carries_the_removal_it_proved() -> None:
    step = next_step(
        facts(RUNNING, checkpoint=ckpt(), proof=proof({key_prefix("aescbc", "k1"): 4}))
    )
    assert step.removal is not None and step.removal.removed == (("aescbc", "k0"),)
    assert step.acts


def test_only_cluster_changes_need_the_elected_server() -> None:
    assert not next_step(facts(state())).acts
    assert not next_step(replace(facts(RUNNING), local=LocalFacts(node="s1"))).acts
    assert next_step(facts(RUNNING)).acts


def test_every_reason_is_from_the_one_vocabulary() -> None:
    from kcrypt.encryption import reasons

    known = {getattr(reasons, name) for name in reasons.__all__}
    for given, _, _ in CASES.values():
        assert next_step(given).reason in known


def test_keys_are_never_shown() -> None:
    for given, _, _ in CASES.values():
        message = next_step(given).message
        assert "AAAAAAAA" not in message  # the test keys are all-zero bytes, base64 AAAA...
