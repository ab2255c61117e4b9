#!/usr/bin/env bash
# Runs a built entry point with plain `node` (no TypeScript loader), building first when dist/ is missing or
# stale (scripts/ensure-built.sh). `npm run gateway|hash-secret|backtest|simulate` go through here.
#   bash scripts/run-built.sh gateway/src/main.js --config FILE
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
entry="$1"
shift
bash "$root/scripts/ensure-built.sh" "$entry"
# V8's young generation at 32 MiB semi-spaces (gateway/src/lane/young-generation.ts says why; the lane's worker
# gets the same in its resource limits)
exec node --max-semi-space-size=32 "$root/dist/$entry" "$@"
