#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/deps.sh against stand-ins for dpkg-query and apt-get (first in
# PATH; a private mount namespace with a tmpfs over /usr/sbin, where it
# writes policy-rc.d): a package in "install ok triggers-pending" (another
# apt is running its triggers) or held counts as installed, so nothing is
# installed; a missing one is installed with apt-get waiting for the dpkg
# lock (-o DPkg::Lock::Timeout=...) instead of failing at once.
. "$(dirname "$0")/../lib/lib.sh"
need_root
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/undici/package" && touch "$tmp/undici/package/index.js"
# dpkg-query -W -f=FORMAT PKG: the status from $tmp/status ("PKG STATUS..."),
# "install ok installed" for packages not listed.
cat > "$tmp/bin/dpkg-query" <<'SH'
#!/bin/sh
for a; do p=$a; done
s=$(awk -v p="$p" '$1 == p { $1 = ""; sub(/^ /, ""); print; exit }' "$STUB/status")
printf '%s\n' "${s:-install ok installed}"
SH
cat > "$tmp/bin/apt-get" <<'SH'
#!/bin/sh
echo "$*" >> "$STUB/apt.log"
SH
chmod +x "$tmp/bin/"*

run_deps() {  # STATUS-LINES: deps.sh's apt-get calls, one a line ("none")
    printf '%s\n' "$1" > "$tmp/status"
    rm -f "$tmp/apt.log"
    STUB=$tmp UNDICI_DIR=$tmp/undici PATH="$tmp/bin:$PATH" \
        unshare -m sh -c 'mount -t tmpfs tmpfs /usr/sbin && exec bash "$1"' sh "$ROOTDIR/scripts/deps.sh" \
        >"$tmp/out" 2>&1 || echo "exit $?"
    [ -s "$tmp/apt.log" ] && cat "$tmp/apt.log" || echo none
}

check_eq triggers_pending_is_installed "$(run_deps 'lintian install ok triggers-pending
nginx-light install ok triggers-awaited
tmux hold ok installed')" none
got=$(run_deps 'lintian install ok not-installed
tmux deinstall ok config-files')
check_eq missing_installed_once "$(echo "$got" | grep -c 'install -y')" 1
check missing_waits_for_dpkg_lock bash -c "echo '$got' | grep -q -- '-o DPkg::Lock::Timeout=[1-9][0-9]* install -y -qq --no-install-recommends tmux lintian\$'"
check update_waits_too bash -c "echo '$got' | grep -q -- '-o DPkg::Lock::Timeout=[1-9][0-9]* update'"
