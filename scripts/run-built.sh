#!/usr/bin/env bash
# Runs a built entry point with plain `node` (no TypeScript loader), building first when dist/ is missing or
# stale (scripts/ensure-built.sh). `npm run gateway|hash-secret|backtest|simulate` go through here.
#   bash scripts/run-built.sh gateway/src/main.js --config FILE
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
entry="$1"
shift
bash "$root/scripts/ensure-built.sh" "$entry"
exec node "$root/dist/$entry" "$@"
