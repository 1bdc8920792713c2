#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# client-port-pressure names the program even when its connections live
# milliseconds (a connection per request, gone by the /proc walk): doctor
# looks again at that destination for a quarter of a second. A program
# that only holds CLOSE_WAIT to the same server is never named, a finished
# program is not guessed, and the advice applied (one keep-alive
# connection) leaves no pile. Client: Python's http.client; server: closer
# serve; ss is the referee. Bounded in count and time. RECORD_DIR=DIR
# saves the first case's recording (owners included) for the unit tests.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PY=/usr/bin/python3
CLIENT="$(cd "$(dirname "$0")/../lib/lookagain" && pwd)/client.py"
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
f() { json_get "$1" "(lambda f: ($2) if f else 'none')(next((f for f in d['findings'] if f['id']=='client-port-pressure'), None))"; }
tw_to() { ip netns exec "$1" ss -Htan state time-wait "( dport = :8080 )" | wc -l; }

setup() {
    netns_new NS
    ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="40000 44999" net.ipv4.tcp_tw_reuse=0
    bg SRV_PID ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8080 -w 1 --return 200 ok \
        --keepalive-timeout 1s
    wait_listen "$NS" 8080
}

# 1. A connection per request, still running: named by looking again.
setup
ip netns exec "$NS" "$PY" "$CLIENT" hold 8080 3 60 > "$tmp/hold.out" &
HOLD_PID=$!; __pids+=("$HOLD_PID")
wait_for 5 grep -q ready "$tmp/hold.out"
bg CLI_PID ip netns exec "$NS" "$PY" "$CLIENT" per-request 8080 20000 25
wait_for 10 sh -c "[ \$(ip netns exec $NS ss -Htan state time-wait '( dport = :8080 )' | wc -l) -ge 300 ]"
# the distractor's connections are closed by the server after 1 s idle
wait_for 5 sh -c "ip netns exec $NS ss -Htan state close-wait '( dport = :8080 )' | grep -q ."
named=none
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do  # a look can honestly miss on a busy host
    ip netns exec "$NS" "$CLOSER" doctor --json --confirm 0 --record "$tmp/la.dump" > "$tmp/d.json"
    named=$(f "$tmp/d.json" "f.get('pid')")
    [ "$named" != none ] && [ "$named" != None ] && break
done
cli_pid=$(ip netns exec "$NS" pgrep -f "client.py per-request" | head -1)
hold_pid=$(ip netns exec "$NS" pgrep -f "client.py hold" | head -1)
check_eq named_by_looking_again "$named" "$cli_pid"
check_eq never_the_close_wait_holder "$([ "$named" = "$hold_pid" ] && echo yes || echo no)" no
check_eq program_and_protocol "$(f "$tmp/d.json" "(f.get('program'), f.get('protocol'), f.get('peer_program'))")" "('requests', 'http', 'closer')"
check_eq fix_names_session "$(f "$tmp/d.json" "'requests.Session' in f['fix']")" True
check_eq says_how_it_was_found "$(f "$tmp/d.json" "'processes again' in f['why'] and f['facts']['owner_connections_seen'] >= 1")" True
check tw_referee test "$(f "$tmp/d.json" "f['facts']['time_wait']")" -ge 300
echo "note: named after $i look(s)"

if [ -n "${RECORD_DIR:-}" ]; then  # for tests/data/doctor/lead.cases
    mkdir -p "$RECORD_DIR"
    cp "$tmp/la.dump" "$RECORD_DIR/lead_lookagain.dump"
    cp "$tmp/la.dump.owners" "$RECORD_DIR/lead_lookagain.dump.owners"
fi

# 2. The program finished: its TIME_WAIT stays, nobody is named (the
#    CLOSE_WAIT holder is still there).
kill "$CLI_PID" 2>/dev/null; wait "$CLI_PID" 2>/dev/null
ip netns exec "$NS" "$CLOSER" doctor --json --confirm 0 > "$tmp/gone.json"
check_eq finished_not_guessed "$(f "$tmp/gone.json" "(f.get('pid'), 'run doctor while the traffic flows' in f['why'])")" "(None, True)"

# 3. The advice applied: one keep-alive connection for the same requests.
setup
ip netns exec "$NS" "$PY" "$CLIENT" reuse 8080 1500 25 > "$tmp/reuse.out"
check reuse_did_the_work grep -q "done 1500" "$tmp/reuse.out"
check reuse_leaves_no_pile test "$(tw_to "$NS")" -le 1  # the one connection, closed at exit
ip netns exec "$NS" "$CLOSER" doctor --json --confirm 0 > "$tmp/reuse.json"
check_eq reuse_no_finding "$(f "$tmp/reuse.json" "f['id']")" none
