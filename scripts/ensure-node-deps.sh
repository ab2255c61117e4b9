#!/usr/bin/env bash
# Installs the npm dependencies from package-lock.json when node_modules is missing or older than the lock.
# A registry hiccup (an idle timeout, a reset connection) is retried twice before giving up.
set -euo pipefail
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci, from package-lock.json; about a minute the first time) …" >&2
  for attempt in 1 2 3; do
    if npm ci --no-audit --no-fund; then exit 0; fi
    [ "$attempt" = 3 ] && { echo "npm ci failed three times: is the npm registry reachable?" >&2; exit 1; }
    echo "npm ci failed (attempt $attempt of 3); trying again in 10 s …" >&2
    sleep 10
  done
fi
