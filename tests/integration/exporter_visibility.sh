#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer_owners_visible tells the truth: a private namespace with CLOSE_WAIT
# sockets held by a root process, scraped from an exporter run as nobody
# (setpriv) without capabilities, with one, and with the two the systemd
# unit grants. Without them the owners are unknown: 0, and the processes it
# could not read are counted with reason="capability"; with both: 1, none.
# ss -p (as root) is the referee for the owner.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
# nobody must be able to run the binary (the tree may sit under /root).
cp "$CLOSER" "$tmp/closer-bin" && chmod 755 "$tmp" "$tmp/closer-bin"

netns_new NS
mkpile "$NS" cw-not-closed 8081 4 && CW_PID=$PILE_PID
check_eq referee_root_owner "$(ip netns exec "$NS" ss -Htnp state close-wait | grep -c mkpile)" 4

port=9440
scrape_as_nobody() {  # CAPS (setpriv form, "" for none): /metrics, once
    local caps=$1 opts=() body pid
    [ -n "$caps" ] && opts=(--inh-caps="$caps" --ambient-caps="$caps")
    port=$((port + 1))
    ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "${opts[@]}" \
        "$tmp/closer-bin" exporter --listen "127.0.0.1:$port" --cache 0s --no-doctor >/dev/null 2>&1 &
    local runner=$!
    wait_listen "$NS" "$port"
    body=$(ip netns exec "$NS" curl -s --max-time 10 "http://127.0.0.1:$port/metrics")
    pid=$(ip netns exec "$NS" ss -Htlnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
    [ -n "$pid" ] && kill -TERM "$pid"
    wait "$runner" 2>/dev/null
    printf '%s\n' "$body"
}
val() { awk -v k="$1" '$1==k{print $2}' "$2"; }

scrape_as_nobody "" > "$tmp/none"
check_eq none_owner_hidden "$(val 'closer_close_wait_sockets{comm="",owner="none"}' "$tmp/none")" 4
check_eq none_owners_not_visible "$(val 'closer_owners_visible' "$tmp/none")" 0
check none_unreadable_by_capability test "$(val 'closer_processes_unreadable{reason="capability"}' "$tmp/none")" -ge 1
check_eq none_other_reasons_zero "$(val 'closer_processes_unreadable{reason="user_namespace"}' "$tmp/none") $(val 'closer_processes_unreadable{reason="security_module"}' "$tmp/none")" "0 0"

scrape_as_nobody +sys_ptrace > "$tmp/ptrace"
check_eq ptrace_alone_not_visible "$(val 'closer_owners_visible' "$tmp/ptrace")" 0
check ptrace_alone_says_capability test "$(val 'closer_processes_unreadable{reason="capability"}' "$tmp/ptrace")" -ge 1

scrape_as_nobody +dac_read_search,+sys_ptrace > "$tmp/both"
check_eq both_owner_named "$(val 'closer_close_wait_sockets{comm="mkpile",owner="process"}' "$tmp/both")" 4
check_eq both_owners_visible "$(val 'closer_owners_visible' "$tmp/both")" 1
check_eq both_nothing_unreadable "$(grep '^closer_processes_unreadable{' "$tmp/both" | awk '{s+=$2} END{print s+0}')" 0
check promtool_accepts promtool check metrics < "$tmp/none"

# --no-owners: not read at all, so not visible (and nothing counted unreadable).
ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9450 --no-owners --no-doctor >/dev/null 2>&1 &
NO=$!; __pids+=("$NO")
wait_listen "$NS" 9450
ip netns exec "$NS" curl -s --max-time 10 http://127.0.0.1:9450/metrics > "$tmp/noowners"
check_eq no_owners_not_visible "$(val 'closer_owners_visible' "$tmp/noowners")" 0
: "$CW_PID"
