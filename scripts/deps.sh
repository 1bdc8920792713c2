#!/usr/bin/env bash
# Installs what closer's build, tests and benchmarks need. Idempotent; shared by
# `make test` and .ci/run. Needs root for apt-get; without root it only reports.
set -eu
pkgs="build-essential make iproute2 net-tools curl python3 tmux nginx-light wrk
      prometheus nghttp2-client slowhttptest node-llhttp prometheus-node-exporter
      nftables iptables clang libclang-rt-14-dev time procps psmisc hyperfine"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing packages:$missing (run as root to install)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Packages must not start daemons here (nginx, prometheus): tests start their own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends $missing >/dev/null
rm -f /usr/sbin/policy-rc.d
