#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real: influxd (InfluxDB 1.x, package `influxdb`),
# victoria-metrics (a server that speaks the InfluxDB 2.x write API and can be queried back: the v2 writer's tests),
# chromium (the console's browser tests) with a small CJK font (fonts-wqy-microhei: its screenshots show the Chinese
# text, not boxes), mosquitto_pub/mosquitto_sub (package `mosquitto-clients`: a stock
# MQTT client against the broker), docker-compose (validates docker-compose.yml; Docker itself is not needed),
# promtool (package `prometheus`: lints the gateway's /metrics exposition), redis-server (the cluster's Redis: the
# tests start private servers on free ports) and haproxy (`haproxy -c` checks the cluster profile's load-balancer
# config, deploy/haproxy/haproxy.cfg; Debian puts it in /usr/sbin) and ss (package `iproute2`: shows the TCP keepalive
# timers on the broker's connections) and libfaketime (package `faketime`: steps the wall clock of a gateway process
# while its monotonic clock runs on). Installs when missing and possible (root with apt-get);
# otherwise fails with the exact command to run. Never skips.
set -euo pipefail

need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start its own service; the tests start private servers instead.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop influxdb victoria-metrics prometheus redis-server haproxy >/dev/null 2>&1 || true; fi
  exit 0
fi

echo "missing: ${need[*]}. Install with: sudo apt-get install -y ${need[*]}" >&2
exit 1
