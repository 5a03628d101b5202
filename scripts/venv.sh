#!/usr/bin/env bash
# Create .venv (if needed) and install a lock file into it, every package checked
# against the hashes the lock records; then the project's own packages, editable,
# adding nothing unhashed (no dependencies, no isolated build).
# Usage: scripts/venv.sh requirements.txt | requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
lockfile="${1:-requirements.txt}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$lockfile")"
digest=$(cat "$lockfile" shared/pyproject.toml services/*/pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  .venv/bin/python -m pip install --quiet --require-hashes -r "$lockfile"
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation \
    -e shared -e services/directory -e services/contacts -e services/sla-monitor \
    -e services/notifier -e services/web
  echo "$digest" > "$stamp"
fi
