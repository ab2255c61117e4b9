#!/usr/bin/env bash
# npm run bench: every benchmark of issue 6 in one bounded run (about 5 minutes on 2 cores), on 127.0.0.1.
# Needs influxd (Debian package influxdb) and mosquitto (Debian package mosquitto, the first peer); installs
# them with apt-get when missing and running as root, otherwise says what to install. The second peer, Node-RED,
# is installed from the npm registry into bench/peers/node-red.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The packages may start their own services; the benchmarks start private servers instead.
    if command -v systemctl >/dev/null 2>&1; then
      systemctl stop influxdb >/dev/null 2>&1 || true
      systemctl stop mosquitto >/dev/null 2>&1 || true
    fi
  else
    echo "missing: ${need[*]}. Install with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# The second peer, Node-RED with its aedes broker and InfluxDB nodes, has its own pinned install (not a dependency
# of the gateway): from the npm registry, once.
if [ ! -f bench/peers/node-red/node_modules/node-red/package.json ]; then
  echo "installing the Node-RED peer (bench/peers/node-red, npm ci)" >&2
  npm ci --prefix bench/peers/node-red --no-audit --no-fund --loglevel=error >&2 ||
    echo "the Node-RED peer could not be installed: the ingest section runs without it" >&2
fi

# 20k connections need as many file descriptors in the gateway and in the load generator.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export BENCH_FD_LIMIT="$(ulimit -n)"
# The gateway (and the peer built from its parts) run as they ship: dist/, built here when stale (bench/lib/built.ts).
bash scripts/ensure-built.sh gateway/src/gateway.js
exec node --import tsx bench/main.ts "$@"
