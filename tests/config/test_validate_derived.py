"""The ``derived_from_validation_code`` cases: messages rendered from upstream's Go code.

These strings are not asserted by upstream tests; they were rendered by hand
from validation_encryption.go and apimachinery's field errors. Where kcrypt
differs on purpose, the case is listed in KNOWN_DIFFERENCES with the reason
and marked xfail(strict=True) so that a change in either direction is noticed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcrypt.config import ConfigInvalid, load

CASE_COUNT = 37

# case name -> why kcrypt's message differs from the rendered expectation. All 37
# cases currently match, so this is empty; a difference found later goes here and
# the case then runs as xfail(strict=True).
KNOWN_DIFFERENCES: dict[str, str] = {}


def _cases(root: Path) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads((root / "encryptionconfig" / "expected-errors.json").read_text())
    return list(data["derived_from_validation_code"])


def test_case_count(k8s_fixtures: Path) -> None:
    assert len(_cases(k8s_fixtures)) == CASE_COUNT


@pytest.mark.parametrize("index", range(CASE_COUNT))
def test_derived_case(index: int, k8s_fixtures: Path, request: pytest.FixtureRequest) -> None:
    case = _cases(k8s_fixtures)[index]
    if case["name"] in KNOWN_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[case["name"]]))
    data = case["yaml"].encode()
    expected = case["expected_validation_error"]
    if expected is None:
        load(data)
        return
    with pytest.raises(ConfigInvalid) as err:
        load(data)
    assert err.value.aggregate == expected
    assert str(err.value) == "error while parsing file: " + expected
