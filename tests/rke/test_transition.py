"""The phases between two configs: table tests, named for what they show."""

from __future__ import annotations

import base64

import pytest

from kcrypt.config import EncryptionConfiguration, load, validate
from kcrypt.rke.errors import Refused
from kcrypt.rke.keyset import describe
from kcrypt.rke.transition import (
    can_read,
    disabled_config,
    equivalent,
    merge,
    plan,
    rewrite_rules,
)

K = {n: base64.b64encode(bytes([i + 1]) * 32).decode() for i, n in enumerate("abcdefg")}


def cfg(text: str) -> EncryptionConfiguration:
    body = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n" + text
    return load(body.encode()).config


def cbc(
    *names: str, resources: str = "[secrets]", last: str = "- identity: {}"
) -> EncryptionConfiguration:
    keys = "".join(f"\n      - name: {n}\n        secret: {K[n]}" for n in names)
    head = f"resources:\n- resources: {resources}\n  providers:\n  - aescbc:\n"
    return cfg(f"{head}      keys:{keys}\n  {last}\n")


def phases(current: EncryptionConfiguration | None, final: EncryptionConfiguration) -> list[str]:
    p = plan(current, final)
    return [f"{ph.name}: {describe(ph.config)}" for ph in p.phases]


def test_enable_from_nothing_reads_first_then_writes() -> None:
    assert phases(None, cbc("a")) == [
        "read: secrets: identity, aescbc[a]",
        "write: secrets: aescbc[a], identity",
    ]
    assert plan(None, cbc("a")).rewrite == ("secrets",)


def test_rotation_is_read_write_rewrite_final() -> None:
    p = plan(cbc("a"), cbc("b"))
    assert [f"{ph.name}: {describe(ph.config)}" for ph in p.phases] == [
        "read: secrets: aescbc[a, b], identity",
        "write: secrets: aescbc[b, a], identity",
        "final: secrets: aescbc[b], identity",
    ]
    assert p.rewrite == ("secrets",) and p.rewrite_at == 2


def test_disable_needs_no_read_phase() -> None:
    p = plan(cbc("a"), disabled_config(cbc("a")))
    assert [ph.name for ph in p.phases] == ["write", "final"]
    assert p.rewrite_at == 1


def test_dropping_an_old_key_rewrites_before_the_final_phase() -> None:
    p = plan(cbc("a", "b"), cbc("a"))
    assert [ph.name for ph in p.phases] == ["final"]
    assert p.rewrite == ("secrets",) and p.rewrite_at == 0


def test_layout_only_changes_are_no_change() -> None:
    split = cfg(
        "resources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n"
        f"      - name: a\n        secret: {K['a']}\n  - identity: {{}}\n"
    )
    assert equivalent(split, cbc("a"))
    assert plan(split, cbc("a")).empty
    assert equivalent(None, disabled_config(None))


def test_every_neighbouring_phase_pair_is_mutually_readable() -> None:
    cases = [
        (None, cbc("a")),
        (cbc("a"), cbc("b")),
        (cbc("a"), disabled_config(cbc("a"))),
        (cbc("a"), cbc("c", resources="[secrets, configmaps]")),
        (cbc("a", resources="['*.*']"), cbc("b")),
    ]
    for current, final in cases:
        previous = current
        for ph in plan(current, final).phases:
            assert can_read(previous, ph.config) and can_read(ph.config, previous), ph
            assert not validate(ph.config), describe(ph.config)
            previous = ph.config
        assert equivalent(previous, final)


def test_wildcards_are_resolved_per_rule_without_masking() -> None:
    merged = merge(cbc("a", resources="['*.*']"), cbc("b"))
    assert describe(merged) == "secrets: aescbc[a, b], identity; *.*: aescbc[a], identity"
    assert not validate(merged)
    assert rewrite_rules(cbc("a", resources="['*.*']"), cbc("b")) == ("secrets", "*.*")


def test_a_key_name_reused_for_another_secret_is_refused() -> None:
    other = cfg(
        "resources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n"
        f"      - name: a\n        secret: {K['b']}\n"
    )
    with pytest.raises(Refused, match="key name 'a'"):
        plan(cbc("a"), other)


def test_identity_missing_from_the_reader_means_plaintext_is_unreadable() -> None:
    no_identity = cbc("a", last="- aesgcm:\n      keys:\n      - {name: g, secret: " + K["g"] + "}")
    assert not can_read(no_identity, None)
    assert can_read(cbc("a"), None)
