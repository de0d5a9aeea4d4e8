#!/usr/bin/env bash
# One command: set everything up, then lint and run the whole test suite against real servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# CI has root, every package and ../shared: there a skipped test is a failure.
if [[ "${CI:-}" == "true" ]]; then
  export NETWATCH_NO_SKIPS=1
fi
set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "test: pytest collected no tests" >&2
fi
exit $rc
