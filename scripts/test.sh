#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): dependencies, type check, lint, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/ensure-system-deps.sh
echo "== type check" >&2
npx tsc -p tsconfig.json --noEmit
echo "== lint" >&2
npx biome check .
echo "== tests (unit, then integration on real influxd, MQTT, HTTP, browser)" >&2
npx vitest run "$@"
