#!/usr/bin/env bash
# The whole test suite: static gates (ruff, import layers, mypy) then pytest.
# Run scripts/setup.sh first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
V=.venv/bin
echo "== ruff";        $V/ruff check src tests bench && $V/ruff format --check -q src tests bench
echo "== import layers"; $V/lint-imports --no-cache
echo "== mypy";        $V/mypy
# The unit suites of the pure core run under coverage (its floor is in pyproject.toml);
# everything else runs after them, once.
UNIT=(tests/envelope tests/config tests/codec tests/encryption)
echo "== pytest (pure core, with its coverage floor)"
$V/coverage run -m pytest "${UNIT[@]}" "$@"
$V/coverage report
echo "== pytest (the rest: datastore engines, storage, API, servers, e2e, HA, tools)"
ignore=(); for d in "${UNIT[@]}"; do ignore+=(--ignore "$d"); done
# Two workers, one test file each at a time: most of these tests wait on real servers,
# etcd members and fsyncs, so two run in about the time of one (KCRYPT_TEST_WORKERS=0: serial).
workers=${KCRYPT_TEST_WORKERS:-2}
par=(); [ "$workers" = "0" ] || par=(-n "$workers" --dist loadfile)
$V/python -m pytest "${par[@]}" "${ignore[@]}" "$@"
