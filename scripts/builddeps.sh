#!/bin/sh
# SPDX-License-Identifier: MIT
# The libraries closer's build links (OpenSSL for TLS, libnghttp2 for
# HTTP/2), installed with apt-get when their headers are missing. Run by
# `make` before the first compile; as root it installs, otherwise it says
# which package to install and fails. Idempotent and quiet when all is there.
set -eu
need=""
[ -f /usr/include/openssl/ssl.h ] || need="$need libssl-dev"
[ -f /usr/include/nghttp2/nghttp2.h ] || need="$need libnghttp2-dev"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "closer: the build needs:$need (run 'apt-get install$need' as root, or 'make' as root)" >&2
  exit 1
fi
echo "closer: installing build libraries:$need" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended-upgrades) may hold the lock: wait for it, do not fail.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
apt_get install -y -qq --no-install-recommends $need >/dev/null 2>&1 || {
  apt_get update -qq || true
  apt_get install -y -qq --no-install-recommends $need >/dev/null
}
