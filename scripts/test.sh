#!/usr/bin/env bash
# The whole test suite: static gates (ruff, import layers, mypy) then pytest.
# Run scripts/setup.sh first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
V=.venv/bin
echo "== ruff";        $V/ruff check src tests bench && $V/ruff format --check -q src tests bench
echo "== import layers"; $V/lint-imports --no-cache
echo "== mypy";        $V/mypy
echo "== pytest";      $V/python -m pytest "$@"
