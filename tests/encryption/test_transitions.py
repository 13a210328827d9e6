"""Provider order at each stage (research note §2.3-2.4), one sentence per case."""

from __future__ import annotations

import pytest

from kcrypt.encryption import EncryptionError, UnsupportedConfig
from kcrypt.encryption.stages import Command, ParsedRequest, Stage
from kcrypt.encryption.transitions import Plan, plan

from ._configs import cfg, make_key, spec


def run(
    config: str | None, stage: Stage, command: Command, provider: str = "aescbc", **flags: bool
) -> Plan:
    return plan(
        cfg(config) if config else None,
        stage,
        ParsedRequest(command, **flags),
        provider=provider,
        node="node-1",
        make_key=make_key,
    )


CASES = [
    # id, config, stage, command, provider, flags, config after, stage now, reencrypt, remove, then
    (
        "prepare appends the new key last: the old key still writes",
        "aescbc[k0] identity",
        Stage.START,
        Command.PREPARE,
        "aescbc",
        {},
        "aescbc[k0,aescbcNEW] identity",
        Stage.PREPARE,
        False,
        False,
        Stage.PREPARE,
    ),
    (
        "prepare after a finished rotation",
        "aescbc[k1] identity",
        Stage.REENCRYPT_FINISHED,
        Command.PREPARE,
        "aescbc",
        {},
        "aescbc[k1,aescbcNEW] identity",
        Stage.PREPARE,
        False,
        False,
        Stage.PREPARE,
    ),
    (
        "rotate right-rotates: the newest key writes",
        "aescbc[k0,k1] identity",
        Stage.PREPARE,
        Command.ROTATE,
        "aescbc",
        {},
        "aescbc[k1,k0] identity",
        Stage.ROTATE,
        False,
        False,
        Stage.ROTATE,
    ),
    (
        "reencrypt keeps the config and removes the last key afterwards",
        "aescbc[k1,k0] identity",
        Stage.ROTATE,
        Command.REENCRYPT,
        "aescbc",
        {},
        "aescbc[k1,k0] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        True,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "reencrypt --skip keeps every key and returns to the previous stage",
        "aescbc[k1,k0] identity",
        Stage.ROTATE,
        Command.REENCRYPT,
        "aescbc",
        {"skip": True},
        "aescbc[k1,k0] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        False,
        Stage.ROTATE,
    ),
    (
        "rotate-keys puts a new key first and removes the old one after the pass",
        "aescbc[k0] identity",
        Stage.START,
        Command.ROTATE_KEYS,
        "aescbc",
        {},
        "aescbc[aescbcNEW,k0] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        True,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "rotate-keys to secretbox keeps aescbc second to read old values",
        "aescbc[k0] identity",
        Stage.START,
        Command.ROTATE_KEYS,
        "secretbox",
        {},
        "secretbox[secretboxNEW] aescbc[k0] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        True,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "rotate-keys to aesgcm from secretbox",
        "secretbox[s1] identity",
        Stage.REENCRYPT_FINISHED,
        Command.ROTATE_KEYS,
        "aesgcm",
        {},
        "aesgcm[aesgcmNEW] secretbox[s1] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        True,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "rotate-keys on an identity-only config starts encrypting",
        "identity",
        Stage.START,
        Command.ROTATE_KEYS,
        "aescbc",
        {},
        "aescbc[aescbcNEW] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        True,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "rotate-keys while disabled enables again",
        "identity aescbc[k0]",
        Stage.START,
        Command.ROTATE_KEYS,
        "aescbc",
        {},
        "aescbc[aescbcNEW,k0] identity",
        Stage.REENCRYPT_ACTIVE,
        True,
        True,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "disable puts identity first and keeps the key to read old values",
        "aescbc[k0] identity",
        Stage.START,
        Command.DISABLE,
        "aescbc",
        {},
        "identity aescbc[k0]",
        Stage.START,
        True,
        False,
        Stage.START,
    ),
    (
        "disable mid-migration keeps both key types",
        "secretbox[s1] aescbc[k0] identity",
        Stage.START,
        Command.DISABLE,
        "secretbox",
        {},
        "identity secretbox[s1] aescbc[k0]",
        Stage.START,
        True,
        False,
        Stage.START,
    ),
    (
        "enable after disable puts the key first again",
        "identity aescbc[k0]",
        Stage.REENCRYPT_FINISHED,
        Command.ENABLE,
        "aescbc",
        {},
        "aescbc[k0] identity",
        Stage.REENCRYPT_FINISHED,
        True,
        False,
        Stage.REENCRYPT_FINISHED,
    ),
    (
        "enable without any config generates a key",
        None,
        Stage.START,
        Command.ENABLE,
        "aescbc",
        {},
        "aescbc[aescbcNEW] identity",
        Stage.START,
        True,
        False,
        Stage.START,
    ),
    (
        "enable on an identity-only config generates a key (k3s panics)",
        "identity",
        Stage.START,
        Command.ENABLE,
        "secretbox",
        {},
        "secretbox[secretboxNEW] identity",
        Stage.START,
        True,
        False,
        Stage.START,
    ),
    (
        "enable when enabled changes nothing",
        "aescbc[k0] identity",
        Stage.START,
        Command.ENABLE,
        "aescbc",
        {},
        "aescbc[k0] identity",
        Stage.START,
        False,
        False,
        Stage.START,
    ),
    (
        "disable when disabled changes nothing",
        "identity aescbc[k0]",
        Stage.START,
        Command.DISABLE,
        "aescbc",
        {},
        "identity aescbc[k0]",
        Stage.START,
        False,
        False,
        Stage.START,
    ),
    (
        "reencrypt --force --skip after disable rewrites and keeps the stage",
        "identity aescbc[k0]",
        Stage.START,
        Command.REENCRYPT,
        "aescbc",
        {"force": True, "skip": True},
        "identity aescbc[k0]",
        Stage.REENCRYPT_ACTIVE,
        True,
        False,
        Stage.START,
    ),
    (
        "prepare --force at rotate adds another key",
        "aescbc[k1,k0] identity",
        Stage.ROTATE,
        Command.PREPARE,
        "aescbc",
        {"force": True},
        "aescbc[k1,k0,aescbcNEW] identity",
        Stage.PREPARE,
        False,
        False,
        Stage.PREPARE,
    ),
    (
        "prepare works for aesgcm too",
        "aesgcm[g0] identity",
        Stage.START,
        Command.PREPARE,
        "aesgcm",
        {},
        "aesgcm[g0,aesgcmNEW] identity",
        Stage.PREPARE,
        False,
        False,
        Stage.PREPARE,
    ),
]


@pytest.mark.parametrize(
    (
        "config",
        "stage",
        "command",
        "provider",
        "flags",
        "after",
        "now",
        "reencrypt",
        "remove",
        "then",
    ),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_transitions(
    config: str | None,
    stage: Stage,
    command: Command,
    provider: str,
    flags: dict[str, bool],
    after: str,
    now: Stage,
    reencrypt: bool,
    remove: bool,
    then: Stage,
) -> None:
    out = run(config, stage, command, provider, **flags)
    assert spec(out.config) == after
    assert (out.stage, out.reencrypt, out.remove_key, out.after_stage) == (
        now,
        reencrypt,
        remove,
        then,
    )


def test_prepare_refuses_secretbox_with_k3s_message() -> None:
    with pytest.raises(
        UnsupportedConfig,
        match=r"^prepare does not support secretbox key type, use rotate-keys instead$",
    ):
        run("secretbox[s0] identity", Stage.START, Command.PREPARE, "secretbox")
    with pytest.raises(UnsupportedConfig, match=r"^rotate does not support secretbox key type"):
        run("secretbox[s0,s1] identity", Stage.PREPARE, Command.ROTATE, "secretbox")


def test_enable_without_keys_of_the_provider_says_so() -> None:
    with pytest.raises(
        EncryptionError,
        match=r"^cannot enable secrets encryption with secretbox key type, no keys found$",
    ):
        run("identity aescbc[k0]", Stage.START, Command.ENABLE, "secretbox")


def test_hash_mismatch_blocks_unless_forced() -> None:
    config = cfg("aescbc[k0] identity")
    err = "hash does not match between node-1 and node-2"
    with pytest.raises(EncryptionError, match=f"^{err}$"):
        plan(
            config,
            Stage.START,
            ParsedRequest(Command.PREPARE),
            provider="aescbc",
            node="n",
            hash_error=err,
            make_key=make_key,
        )
    plan(
        config,
        Stage.START,
        ParsedRequest(Command.PREPARE, force=True),
        provider="aescbc",
        node="n",
        hash_error=err,
        make_key=make_key,
    )
    plan(
        config,
        Stage.START,
        ParsedRequest(Command.DISABLE),
        provider="aescbc",
        node="n",
        hash_error=err,
    )
