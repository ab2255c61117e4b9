#!/usr/bin/env bash
# The README's first command: installs npm dependencies if needed, then runs the gateway on its embedded
# defaults with the simulated plants (InfluxDB is used when influxd is installed, and skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh >&2
exec npx tsx demo/start-demo.ts "$@"
