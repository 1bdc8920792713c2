#!/usr/bin/env bash
# Installs what closer's build, tests and benchmarks need. Idempotent; shared by
# `make test` and .ci/run. Needs root for apt-get; without root it only reports.
set -eu
pkgs="build-essential make iproute2 net-tools curl python3 tmux nginx-light wrk
      prometheus nghttp2-client slowhttptest node-llhttp prometheus-node-exporter
      nftables iptables clang libclang-rt-14-dev time procps psmisc hyperfine nodejs
      bpftrace python3-requests"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
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
fi

# undici (npm), a pipelining HTTP/1.1 client used as a referee by
# serve_referees.sh: the registry tarball of one pinned version, checked
# against the registry's published SHA-1, unpacked outside the tree.
UNDICI_VERSION=6.21.0
UNDICI_SHA1=4b3d3afaef984e07b48e7620c34ed8a285ed4cd4
UNDICI_DIR=${UNDICI_DIR:-/var/cache/closer/undici-$UNDICI_VERSION}
if [ ! -f "$UNDICI_DIR/package/index.js" ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$UNDICI_DIR"
  tgz="$UNDICI_DIR/undici.tgz"
  curl -fsSL --retry 3 -o "$tgz" "https://registry.npmjs.org/undici/-/undici-$UNDICI_VERSION.tgz"
  echo "$UNDICI_SHA1  $tgz" | sha1sum -c --quiet -
  tar -xzf "$tgz" -C "$UNDICI_DIR"
  rm -f "$tgz"
fi
