"""The k3s stage x command table (research note §1.3), one sentence per case."""

from __future__ import annotations

import pytest

from kcrypt.encryption import IncorrectStage, UnknownRequest
from kcrypt.encryption.stages import Command, Stage, check_stage, parse_request, request_body

ALLOWED = {
    Command.ENABLE: set(Stage),
    Command.DISABLE: set(Stage),
    Command.PREPARE: {Stage.START, Stage.REENCRYPT_FINISHED},
    Command.ROTATE: {Stage.PREPARE},
    Command.REENCRYPT: {Stage.ROTATE},
    Command.ROTATE_KEYS: {Stage.START, Stage.REENCRYPT_FINISHED},
}

CASES = [
    pytest.param(
        cmd,
        stage,
        force,
        stage in ALLOWED[cmd]
        or (force and cmd in (Command.PREPARE, Command.ROTATE, Command.REENCRYPT)),
        id=f"{cmd.value} at {stage.value}{' with --force' if force else ''} => "
        + (
            "accepted"
            if stage in ALLOWED[cmd]
            or (force and cmd in (Command.PREPARE, Command.ROTATE, Command.REENCRYPT))
            else "incorrect stage"
        ),
    )
    for cmd in Command
    for stage in Stage
    for force in (False, True)
]


@pytest.mark.parametrize(("command", "stage", "force", "accepted"), CASES)
def test_stage_checks(command: Command, stage: Stage, force: bool, accepted: bool) -> None:
    if accepted:
        check_stage(command, stage, force=force, node="node-1")
        return
    with pytest.raises(IncorrectStage) as err:
        check_stage(command, stage, force=force, node="node-1")
    assert str(err.value) == f"incorrect stage: {stage.value} found on node node-1"


@pytest.mark.parametrize(
    ("command", "flags", "body"),
    [
        pytest.param(
            Command.ENABLE, {}, {"enable": True, "force": False, "skip": False}, id="enable"
        ),
        pytest.param(
            Command.DISABLE, {}, {"enable": False, "force": False, "skip": False}, id="disable"
        ),
        pytest.param(
            Command.PREPARE,
            {"force": True},
            {"stage": "prepare", "force": True, "skip": False},
            id="prepare -f",
        ),
        pytest.param(
            Command.ROTATE, {}, {"stage": "rotate", "force": False, "skip": False}, id="rotate"
        ),
        pytest.param(
            Command.REENCRYPT,
            {"force": True, "skip": True},
            {"stage": "reencrypt_active", "force": True, "skip": True},
            id="reencrypt -f --skip sends stage reencrypt_active",
        ),
        pytest.param(
            Command.ROTATE_KEYS,
            {"force": True},
            {"stage": "rotate_keys", "force": False, "skip": False},
            id="rotate-keys cannot be forced",
        ),
    ],
)
def test_request_bodies_are_k3s_shapes(
    command: Command, flags: dict[str, bool], body: dict[str, object]
) -> None:
    sent = request_body(command, **flags)
    assert sent == body
    assert list(sent) == list(body)  # field order stage/enable, force, skip
    assert parse_request(sent).command is command


def test_unknown_stage_is_refused_with_k3s_message() -> None:
    with pytest.raises(UnknownRequest, match=r"^unknown stage reencrypt_finished requested$"):
        parse_request({"stage": "reencrypt_finished"})


def test_dry_run_flag_travels_only_when_set() -> None:
    assert "dryRun" not in request_body(Command.PREPARE)
    assert parse_request(request_body(Command.PREPARE, dry_run=True)).dry_run
