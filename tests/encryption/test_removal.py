"""Which key a finished pass removes (k3s: one old key per pass), one sentence per case."""

from __future__ import annotations

import pytest

from kcrypt.encryption.transitions import removal

from ._configs import cfg, spec


@pytest.mark.parametrize(
    ("config", "provider", "after", "removed"),
    [
        pytest.param(
            "aescbc[k1,k0] identity",
            "aescbc",
            "aescbc[k1] identity",
            [("aescbc", "k0")],
            id="two keys => the last one goes",
        ),
        pytest.param(
            "secretbox[s1] aescbc[k0] identity",
            "secretbox",
            "secretbox[s1] identity",
            [("aescbc", "k0")],
            id="provider switched => the other type's last key goes",
        ),
        pytest.param(
            "secretbox[s1] aescbc[k1,k0] identity",
            "secretbox",
            "secretbox[s1] aescbc[k1] identity",
            [("aescbc", "k0")],
            id="switched with two old keys => one goes per pass, as k3s",
        ),
        pytest.param(
            "aescbc[k1] identity",
            "aescbc",
            "aescbc[k1] identity",
            [],
            id="one key => nothing to remove",
        ),
        pytest.param(
            "identity aescbc[k1,k0]",
            "aescbc",
            "identity aescbc[k1]",
            [("aescbc", "k0")],
            id="disabled with two keys => the last one goes, still disabled",
        ),
    ],
)
def test_removal_rule(
    config: str, provider: str, after: str, removed: list[tuple[str, str]]
) -> None:
    out = removal(cfg(config), provider=provider)
    assert spec(out.config) == after
    assert list(out.removed) == removed
