#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package and the exporter's systemd unit: `dpkg-buildpackage -us
# -uc -b` on a copy of the tree (no .git: the version is the Makefile's)
# builds a .deb that lintian -I --pedantic passes without an error or warning, with every file in
# place and the packager's hardening flags in the binary (fortified calls,
# PIE, BIND_NOW); the unit passes `systemd-analyze verify` and `security`;
# and the capabilities it grants are the ones closer needs: as an unprivileged
# user, the owner of another user's socket is seen with CAP_DAC_READ_SEARCH +
# CAP_SYS_PTRACE, and not with either one alone.
. "$(dirname "$0")/../lib/lib.sh"
need_root
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap '__cleanup; rm -rf "$tmp"' EXIT
# A clean packager environment: `make asan` exports its CFLAGS and LDFLAGS.
unset MAKEFLAGS MAKELEVEL MFLAGS CC CFLAGS CPPFLAGS LDFLAGS
for tool in dpkg-buildpackage dh lintian systemd-analyze setpriv; do
    command -v $tool >/dev/null || { fail "have_$tool" "not installed (scripts/deps.sh installs it)"; exit 0; }
done
commands=$("$CLOSER" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}' | grep -vx help)
version=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")

# --- the package ------------------------------------------------------------
mkdir "$tmp/closer"
(cd "$ROOT" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$tmp/closer"
(cd "$tmp/closer" && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
rc=$?
check_eq deb_builds "$rc" 0
[ $rc -eq 0 ] || { tail -30 "$tmp/build.log"; exit 0; }
deb=$(ls "$tmp"/closer_*_*.deb)
# Errors, warnings and pedantic tags fail; info tags (-I) may stay.
lintian -I --pedantic --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1
check_eq lintian_no_error_or_warning "$(grep -E '^[EWP]:' "$tmp/lintian.log")" ""
# A native package's changelog.gz is debian/changelog, not CHANGELOG.md.
check_eq deb_changelog_is_debian "$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/doc/closer/changelog.gz |
    zcat | dpkg-parsechangelog -l- -SVersion 2>/dev/null)" "$version"
check_eq deb_version "$(dpkg-deb -f "$deb" Version)" "$version"
dpkg-deb -x "$deb" "$tmp/x"
want="etc/default/closer-exporter
lib/systemd/system/closer-exporter.service
usr/bin/closer
usr/share/bash-completion/completions/closer
usr/share/closer/closer-alerts.yml
usr/share/closer/closer-grafana.json
usr/share/doc/closer/copyright
usr/share/doc/closer/README.md
usr/share/doc/closer/CHANGELOG.md
usr/share/man/man1/closer.1.gz
usr/share/zsh/vendor-completions/_closer"
for c in $commands; do want="$want
usr/share/man/man1/closer-$c.1.gz"; done
missing=$(printf '%s\n' "$want" | while read -r f; do [ -f "$tmp/x/$f" ] || echo "$f"; done)
check_eq deb_files_present "$missing" ""
check_eq deb_conffile "$(dpkg-deb -I "$deb" conffiles 2>/dev/null)" "/etc/default/closer-exporter"
check_eq deb_binary_version "$("$tmp/x/usr/bin/closer" --version)" "closer $version"
# dpkg-buildflags' hardening reached the compiler and the linker.
check_eq deb_fortified "$(nm -D "$tmp/x/usr/bin/closer" | grep -c '_chk@' | awk '{print ($1 > 0)}')" 1
check_eq deb_pie_bindnow "$(readelf -d "$tmp/x/usr/bin/closer" | grep -c 'Flags: NOW PIE')" 1
grep -q -- '-D_FORTIFY_SOURCE=2 .*-Wall -Wextra  -MMD' "$tmp/build.log" && ! grep -q -- ' -Werror ' "$tmp/build.log"
check_eq deb_build_flags_no_werror $? 0
# The pages name the docs where the package puts them.
zcat "$tmp/x/usr/share/man/man1/closer.1.gz" | grep -q '/usr/share/doc/closer/README.md'
check_eq deb_man_names_docdir $? 0
check deb_unit_tests_ran grep -q '^--- unit/test_' "$tmp/build.log"

# --- the systemd unit -----------------------------------------------------
prefix=$tmp/prefix
make -s -C "$ROOT" install PREFIX="$prefix" >/dev/null 2>&1
unit=$prefix/lib/systemd/system/closer-exporter.service
MANPATH=$prefix/share/man systemd-analyze verify "$unit" >"$tmp/verify.log" 2>&1
check_eq unit_verify "$?:$(cat "$tmp/verify.log")" "0:"
systemd-analyze security --offline=yes --threshold=30 "$unit" >"$tmp/security.log" 2>&1
check_eq unit_security_exposure_at_most_3 $? 0
grep -q '^DynamicUser=yes' "$unit" && ! grep -q '^User=root' "$unit"
check_eq unit_not_root $? 0
check_eq unit_capabilities "$(sed -n 's/^AmbientCapabilities=//p' "$unit")" "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"
check_eq unit_bounding_set "$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")" "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"

# The capabilities: a socket of root's, looked at by nobody.
cp "$CLOSER" "$tmp/closer-bin" && chmod 755 "$tmp/closer-bin"
netns_new NS
bg LPID ip netns exec "$NS" python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 9411)); s.listen(); time.sleep(30)"
wait_listen "$NS" 9411
owner_as_nobody() {  # CAPS...: the process column of the listener, as nobody
    local caps=${1:-} opts=()
    [ -n "$caps" ] && opts=(--inh-caps="$caps" --ambient-caps="$caps")
    ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "${opts[@]}" \
        "$tmp/closer-bin" states -p -H --sport 9411 2>/dev/null | grep -o 'pid=[0-9]*' | head -1
}
py=$(ip netns exec "$NS" ss -Htlnp 'sport = :9411' | grep -o 'pid=[0-9]*' | head -1)
check_eq caps_referee_sees_owner "$(echo "$py" | grep -c "^pid=[0-9]")" 1
check_eq caps_none_hides_owner "$(owner_as_nobody)" ""
check_eq caps_dac_read_search_alone "$(owner_as_nobody +dac_read_search)" ""
check_eq caps_sys_ptrace_alone "$(owner_as_nobody +sys_ptrace)" ""
check_eq caps_both_show_owner "$(owner_as_nobody +dac_read_search,+sys_ptrace)" "$py"

# The exporter itself under the unit's identity: as nobody with the unit's two
# capabilities it names the owner of root's CLOSE_WAIT sockets (without them:
# owner="none"), and every system call it makes while serving scrapes is one
# the unit's SystemCallFilter allows (traced with strace).
mkpile "$NS" cw-not-closed 8081 3
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
scrape_as_nobody() {  # PORT CAPS [strace-output]: /metrics of an exporter run as nobody
    local port=$1 caps=$2 trace=${3:-} opts=() pre=() body pid
    [ -n "$caps" ] && opts=(--inh-caps="$caps" --ambient-caps="$caps")
    [ -n "$trace" ] && pre=(strace -f -qq -o "$trace")
    ip netns exec "$NS" "${pre[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups "${opts[@]}" \
        "$tmp/closer-bin" exporter --listen "127.0.0.1:$port" --cache 0s >/dev/null 2>&1 &
    local runner=$!
    wait_listen "$NS" "$port"
    ip netns exec "$NS" curl -s "http://127.0.0.1:$port/metrics" >/dev/null
    body=$(ip netns exec "$NS" curl -s "http://127.0.0.1:$port/metrics")
    pid=$(ip netns exec "$NS" ss -Htlnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
    [ -n "$pid" ] && kill -TERM "$pid"
    wait "$runner" 2>/dev/null
    printf '%s\n' "$body" | grep '^closer_close_wait_sockets{' | grep -v 'owner="other"'
}
check_eq exporter_unit_caps_name_owner "$(scrape_as_nobody 9556 "$caps" "$tmp/strace" | grep -c 'comm="mkpile",owner="process"} 3$')" 1
check_eq exporter_no_caps_owner_hidden "$(scrape_as_nobody 9557 "" | grep -c 'owner="none"} 3$')" 1
expand_group() {  # @GROUP or a syscall -> syscall names
    case $1 in
    @*) systemd-analyze syscall-filter "$1" | awk 'NR > 1 && !/^ *#/ { for (i = 1; i <= NF; i++) print $i }' |
            while read -r x; do expand_group "$x"; done ;;
    *) echo "$1" ;;
    esac
}
allowed=$(for g in $(sed -n 's/^SystemCallFilter=\([^~]\)/\1/p' "$unit"); do expand_group "$g"; done | sort -u)
denied=$(for g in $(sed -n 's/^SystemCallFilter=~//p' "$unit"); do expand_group "$g"; done | sort -u)
# The exporter's calls: those after setpriv's execve of the binary.
used=$(awk -v bin="$tmp/closer-bin" 'index($0, "execve(\"" bin "\"") {on = 1; next} on' "$tmp/strace" |
    sed -E 's/^[0-9]+ +//; s/\(.*//' | grep -E '^[a-z_0-9]+$' | sort -u)
check_eq exporter_syscalls_traced "$(echo "$used" | grep -cx 'epoll_wait\|accept4')" 2
check_eq exporter_syscalls_allowed_by_unit "$(comm -23 <(echo "$used") <(comm -23 <(echo "$allowed") <(echo "$denied")) | tr '\n' ' ')" ""
