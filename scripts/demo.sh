#!/usr/bin/env bash
# Set up (once) and run the offline demo: a Jibe simulator, a local Slack stand-in, digests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/jibe-alerts demo "$@"
