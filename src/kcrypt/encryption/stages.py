"""k3s's rotation stages and which command each stage accepts.

Stage names are k3s's constants (``pkg/secretsencrypt/config.go``). They never
contain ``-`` because k3s joins them with the config hash as ``<stage>-<hash>``.

Stage checks (k3s ``verifyEncryptionHashAnnotation(prevStage)``):

* ``prepare`` and ``rotate-keys`` need ``start`` or ``reencrypt_finished``;
* ``rotate`` needs ``prepare``;
* ``reencrypt`` needs ``rotate``;
* ``enable`` and ``disable`` check nothing.

``--force`` skips every check (stage *and* cross-server hash match), because
k3s tests ``err != nil && !force``. ``rotate-keys`` has no ``--force``.

The supervisor request is k3s's ``EncryptionRequest`` JSON
(``{"stage": ..., "enable": ..., "force": ..., "skip": ...}``): the server
dispatches on ``stage`` first, then on ``enable``. kcrypt adds ``dryRun``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from kcrypt.encryption.errors import IncorrectStage, UnknownRequest

__all__ = [
    "ACCEPTED_STAGES",
    "FORCEABLE",
    "Command",
    "EncryptionRequest",
    "ParsedRequest",
    "Stage",
    "check_stage",
    "parse_request",
    "request_body",
]


class Stage(enum.StrEnum):
    START = "start"
    PREPARE = "prepare"
    ROTATE = "rotate"
    REENCRYPT_REQUEST = "reencrypt_request"
    REENCRYPT_ACTIVE = "reencrypt_active"
    REENCRYPT_FINISHED = "reencrypt_finished"


class Command(enum.StrEnum):
    ENABLE = "enable"
    DISABLE = "disable"
    PREPARE = "prepare"
    ROTATE = "rotate"
    REENCRYPT = "reencrypt"
    ROTATE_KEYS = "rotate-keys"


ACCEPTED_STAGES: Mapping[Command, frozenset[Stage] | None] = {
    Command.ENABLE: None,
    Command.DISABLE: None,
    Command.PREPARE: frozenset({Stage.START, Stage.REENCRYPT_FINISHED}),
    Command.ROTATE: frozenset({Stage.PREPARE}),
    Command.REENCRYPT: frozenset({Stage.ROTATE}),
    Command.ROTATE_KEYS: frozenset({Stage.START, Stage.REENCRYPT_FINISHED}),
}
"""Stages each command accepts; None: no check at all."""

FORCEABLE: frozenset[Command] = frozenset({Command.PREPARE, Command.ROTATE, Command.REENCRYPT})

# The request "stage" values k3s's server understands, and the command each means.
_REQUEST_STAGES: Mapping[str, Command] = {
    "prepare": Command.PREPARE,
    "rotate": Command.ROTATE,
    "rotate_keys": Command.ROTATE_KEYS,
    "reencrypt_active": Command.REENCRYPT,
}


class EncryptionRequest(TypedDict, total=False):
    """k3s's request body (field order stage, enable, force, skip) + kcrypt's ``dryRun``."""

    stage: str
    enable: bool
    force: bool
    skip: bool
    dryRun: bool


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    command: Command
    force: bool = False
    skip: bool = False
    dry_run: bool = False


def parse_request(body: Mapping[str, object]) -> ParsedRequest:
    """Dispatch like k3s: ``stage`` first, then ``enable``; unknown stages are refused."""
    force = body.get("force") is True
    skip = body.get("skip") is True
    dry_run = body.get("dryRun") is True
    stage = body.get("stage")
    if stage is not None:
        command = _REQUEST_STAGES.get(str(stage))
        if command is None:
            raise UnknownRequest(f"unknown stage {stage} requested")
        if command is Command.ROTATE_KEYS:
            force = False
        return ParsedRequest(command, force=force, skip=skip, dry_run=dry_run)
    enable = body.get("enable")
    if isinstance(enable, bool):
        command = Command.ENABLE if enable else Command.DISABLE
        return ParsedRequest(command, force=force, skip=skip, dry_run=dry_run)
    raise UnknownRequest("unknown request: neither stage nor enable given")


def request_body(
    command: Command, *, force: bool = False, skip: bool = False, dry_run: bool = False
) -> EncryptionRequest:
    """The JSON body the CLI sends for ``command`` (k3s's exact shapes; dryRun only when set)."""
    body: EncryptionRequest
    if command is Command.ENABLE:
        body = {"enable": True, "force": False, "skip": False}
    elif command is Command.DISABLE:
        body = {"enable": False, "force": False, "skip": False}
    elif command is Command.REENCRYPT:
        body = {"stage": "reencrypt_active", "force": force, "skip": skip}
    elif command is Command.ROTATE_KEYS:
        body = {"stage": "rotate_keys", "force": False, "skip": False}
    else:
        body = {"stage": command.value, "force": force, "skip": False}
    if dry_run:
        body["dryRun"] = True
    return body


def check_stage(command: Command, stage: Stage, *, force: bool, node: str) -> None:
    """Raise k3s's ``incorrect stage`` error unless ``command`` may run at ``stage``."""
    accepted = ACCEPTED_STAGES[command]
    if accepted is None or (force and command in FORCEABLE):
        return
    if stage not in accepted:
        raise IncorrectStage(stage.value, node)
