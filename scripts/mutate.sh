#!/usr/bin/env bash
# Mutation testing with Stryker, one area at a time (not part of `npm test`):
#   npm run mutate -- rules                     # an area of stryker.config.mjs: rules, ingest, broker, http, sinks, alarms, lane
#   npm run mutate -- --mutate 'gateway/src/ingest/seq-window.ts'   # any files (unit and integration tests)
#   npm run mutate -- rules --concurrency 1     # further Stryker options pass through
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -gt 0 && "$1" != -* ]]; then
  export MUTATE_AREA="$1"
  shift
fi
exec npx stryker run stryker.config.mjs "$@"
