#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what closer's build, tests and benchmarks need. Idempotent; shared by
# `make test` and .ci/run. Needs root for apt-get; without root it only reports.
set -eu
pkgs="build-essential make iproute2 net-tools curl python3 tmux nginx-light wrk
      prometheus nghttp2-client slowhttptest node-llhttp prometheus-node-exporter
      nftables iptables clang libclang-rt-14-dev time procps psmisc hyperfine nodejs
      apache2-utils debhelper lintian zsh man-db systemd"
# Each suite adds its own line below (one line per need keeps merges clean).
pkgs="$pkgs python3-requests"  # doctor_real_*: a requests.Session pool
pkgs="$pkgs python3-yaml util-linux"  # netns_all.sh: contrib YAML parses; nsenter, unshare, setpriv
pkgs="$pkgs apache2 lighttpd haproxy h2o"  # probe_servers.sh: real servers under probe
pkgs="$pkgs strace"  # install tests
pkgs="$pkgs redis-server redis-tools python3-redis memcached python3-pymemcache"  # doctor_prog_kv.sh: Redis, memcached and their pool clients
pkgs="$pkgs python3-jsonschema"  # json_schemas.sh: every --json validated against schemas/
pkgs="$pkgs bpftrace"  # bench/trace.sh: the anchor (python3-requests: trace_closes.sh too)
pkgs="$pkgs apache2 wrk puma"  # doctor_prog_fork.sh: Apache prefork/event/CGI, wrk, puma (Ruby)
pkgs="$pkgs postgresql python3-psycopg2 python3-psycopg-pool python3-sqlalchemy pgbouncer mariadb-server python3-pymysql"  # doctor_prog_pg.sh: PostgreSQL + psycopg2/psycopg_pool/SQLAlchemy pools, pgbench, PgBouncer, MariaDB + PyMySQL
pkgs="$pkgs gunicorn python3-gunicorn python3-uvicorn php-fpm"  # doctor_prog_wsgi.sh: gunicorn sync/gthread, uvicorn, php-fpm behind nginx
pkgs="$pkgs libssl-dev libnghttp2-dev"  # the build: TLS (OpenSSL) and HTTP/2 (libnghttp2) in probe and load
pkgs="$pkgs golang-go default-jdk-headless"  # doctor_prog_gojvm.sh: Go net/http and JVM (java.net, com.sun.net.httpserver) programs built from stdlib-only sources
pkgs="$pkgs openssl"  # probe_defects.sh: a self-signed certificate for nginx's TLS port (http:// to it answers 400)
pkgs="$pkgs caddy tomcat10 jetty9 varnish squid golang-go gunicorn python3-uvicorn"  # probe_catalog.sh: probe names Caddy, Tomcat, Jetty, gunicorn, uvicorn, Go, and Varnish/Squid in front of nginx
pkgs="$pkgs caddy"  # tls_servers.sh: Caddy (Go's crypto/tls) probed over https://
pkgs="$pkgs gcovr"  # make coverage (CI prints the table)
pkgs="$pkgs bpftool"  # trace_resets.sh: the names of the tracer's BPF programs (bpftool prog show)
# Installed: dpkg's status is "install ok <state>" (or "hold ok <state>")
# with the files on disk, whatever the state: "triggers-pending" or
# "triggers-awaited" while another apt runs, "unpacked"/"half-configured"
# mid-install. Only "not-installed" and "config-files" lack the files.
installed() {
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
    grep -Eq '^(install|hold) ok (installed|triggers-pending|triggers-awaited|unpacked|half-configured|half-installed)$'
}
# Another apt (unattended-upgrades, a second `make test`) may hold the dpkg
# lock: wait for it (up to 10 minutes) instead of failing at once.
APT="apt-get -o DPkg::Lock::Timeout=600"
missing=""
for p in $pkgs; do
  installed "$p" || missing="$missing $p"
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
  $APT update -qq || true
  $APT install -y -qq --no-install-recommends $missing >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# undici (npm), a pipelining HTTP/1.1 client used as a referee by
# serve_referees.sh: one pinned version fetched with the npm client by package
# name (`npm pack` checks the tarball against the registry's integrity field),
# then checked again against our pinned SHA-512 and SHA-1, unpacked outside the
# tree. The repository names no registry host: npm's own configuration does.
UNDICI_VERSION=6.21.0
UNDICI_SHA1=4b3d3afaef984e07b48e7620c34ed8a285ed4cd4
UNDICI_SHA512=0548095dcef9d8aa2ede8388b94d62fb2659ca9c9946a34f5b4beaa0c3e5f156a86a549f791d03f3fb788804b7ca2aecefd492313c536a0f990bceaeb30bfe0b
UNDICI_DIR=${UNDICI_DIR:-/var/cache/closer/undici-$UNDICI_VERSION}
if [ ! -f "$UNDICI_DIR/package/index.js" ] && [ "$(id -u)" = 0 ]; then
  command -v npm >/dev/null || $APT install -y -qq --no-install-recommends npm >/dev/null
  mkdir -p "$UNDICI_DIR"
  packdir=$(mktemp -d)
  (cd "$packdir" && npm pack --silent "undici@$UNDICI_VERSION" >/dev/null)
  tgz="$packdir/undici-$UNDICI_VERSION.tgz"
  echo "$UNDICI_SHA512  $tgz" | sha512sum -c --quiet -
  echo "$UNDICI_SHA1  $tgz" | sha1sum -c --quiet -
  tar -xzf "$tgz" -C "$UNDICI_DIR"
  rm -rf "$packdir"
fi
