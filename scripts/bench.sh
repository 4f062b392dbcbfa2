#!/usr/bin/env bash
# Runs every benchmark in bench/ in turn; each prints lines starting with "bench ".
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0
for script in bench/*.py; do
  [ "$(basename "$script")" = "__init__.py" ] && continue
  echo "make bench: $script" >&2
  $BIN/python "$script" || { echo "make bench: $script failed" >&2; status=1; }
done
exit $status
