#!/usr/bin/env bash
# One command: set everything up, then run the demo (Ctrl-C stops it and removes everything).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/netwatch demo "$@"
