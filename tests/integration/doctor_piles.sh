#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds each pile for real in a private network namespace, runs
# `closer doctor --json` there and asserts the exact finding ids, ports,
# counts and pids. ss is the independent referee for the counts.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT

# pile NAME KIND PORT N: starts mkpile in a fresh namespace; sets NS and PID.
pile() {
    netns_new NS
    mkpile "$NS" "$2" "$3" "$4" || return 1
    PID=$PILE_PID
    ip netns exec "$NS" "$CLOSER" doctor --json > "$tmp/$1.json"
    echo $? > "$tmp/$1.rc"
}

# finding NAME ID: prints "count port pid" of the first finding with ID.
finding() {
    json_get "$tmp/$1.json" "' '.join(str(f.get(k)) for k in ('count','port','pid')) if (f:=next((f for f in d['findings'] if f['id']=='$2'), None)) else 'none'"
}
ss_count() { ip netns exec "$1" ss -Htan state "$2" | wc -l; }

# 1. server-side TIME_WAIT: the server closes 40 accepted connections first.
if pile server_tw server-tw 8080 40; then
    check_eq server_tw_ss "$(ss_count "$NS" time-wait)" 40
    # the listener's owner is named (the program whose knob the fix is)
    check_eq server_tw_finding "$(finding server_tw server-time-wait)" "40 8080 $PID"
    check_eq server_tw_no_client_finding "$(finding server_tw client-port-pressure)" none
    check_eq server_tw_split "$(json_get "$tmp/server_tw.json" "(d['time_wait']['server_side'], d['time_wait']['client_side'])")" "(40, 0)"
    # All 40 closed within the last seconds: the 10 s rate is 40/10.
    check_eq server_tw_rate "$(json_get "$tmp/server_tw.json" "next(f for f in d['findings'] if f['id']=='server-time-wait')['facts']['closes_per_s_10s']")" 4
fi

# 2. client-side TIME_WAIT towards one destination, in a 200-port range:
#    150 sockets = 75% of the range -> warning, exit 1.
netns_new NS
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="40000 40199"
if mkpile "$NS" client-tw 9090 150; then
    ip netns exec "$NS" "$CLOSER" doctor --json > "$tmp/client.json"; rc=$?
    check_eq client_tw_ss "$(ss_count "$NS" time-wait)" 150
    check_eq client_tw_finding "$(json_get "$tmp/client.json" "[(f['count'], f['dest'], f['severity'], f['facts']['ephemeral_range']) for f in d['findings'] if f['id']=='client-port-pressure']")" "[(150, '127.0.0.1:9090', 'warning', 200)]"
    check_eq client_tw_no_server_finding "$(finding client server-time-wait)" none
    check_eq client_tw_exit_code "$rc" 1
fi

# 3. CLOSE_WAIT never accepted: in the accept queue, no inode.
if pile cw_unaccepted cw-unaccepted 8081 6; then
    check_eq cw_unaccepted_ss "$(ss_count "$NS" close-wait)" 6
    check_eq cw_unaccepted_finding "$(finding cw_unaccepted close-wait-unaccepted)" "6 8081 $PID"
    check_eq cw_unaccepted_only "$(json_get "$tmp/cw_unaccepted.json" "sorted(f['id'] for f in d['findings'] if f['id'].startswith('close-wait'))")" "['close-wait-unaccepted']"
    check_eq cw_unaccepted_exit "$(cat "$tmp/cw_unaccepted.rc")" 1
fi

# 4. CLOSE_WAIT on accepted fds that are in no epoll set.
if pile cw_not_polled cw-not-polled 8082 7; then
    check_eq cw_not_polled_finding "$(finding cw_not_polled close-wait-not-polled)" "7 8082 $PID"
    check_eq cw_not_polled_only "$(json_get "$tmp/cw_not_polled.json" "sorted(f['id'] for f in d['findings'] if f['id'].startswith('close-wait'))")" "['close-wait-not-polled']"
    # The fds it names are the ones ss attributes to the process.
    want=$(ip netns exec "$NS" ss -Htanp state close-wait | grep -o 'fd=[0-9]*' | cut -d= -f2 | sort -n | tr '\n' ' ')
    got=$(json_get "$tmp/cw_not_polled.json" "' '.join(str(x) for x in next(f for f in d['findings'] if f['id']=='close-wait-not-polled')['fds'])")
    check_eq cw_not_polled_fds "$got " "$want"
fi

# 5. CLOSE_WAIT on fds registered in epoll whose EOF was read, never closed.
if pile cw_not_closed cw-not-closed 8083 5; then
    check_eq cw_not_closed_finding "$(finding cw_not_closed close-wait-not-closed)" "5 8083 $PID"
    check_eq cw_not_closed_only "$(json_get "$tmp/cw_not_closed.json" "sorted(f['id'] for f in d['findings'] if f['id'].startswith('close-wait'))")" "['close-wait-not-closed']"
fi

# 6. A full accept queue: listen(8), nobody accepts, 12 clients.
if pile accept_full accept-full 8084 8; then
    check_eq accept_full_finding "$(json_get "$tmp/accept_full.json" "[(f['port'], f['severity'], f['facts']['backlog'], f['pid']) for f in d['findings'] if f['id']=='listen-overflow']")" "[(8084, 'critical', 8, $PID)]"
    q=$(ip netns exec "$NS" ss -Htln 'sport = :8084' | awk '{print $2}')
    check_eq accept_full_queue_vs_ss "$(finding accept_full listen-overflow | cut -d' ' -f1)" "$q"
    check accept_full_overflow_counted test "$(json_get "$tmp/accept_full.json" "next(f for f in d['findings'] if f['id']=='listen-overflow')['facts']['ListenOverflows']")" != 0
fi

# 7. A quiet namespace: nothing above info, exit 0.
netns_new NS
ip netns exec "$NS" "$CLOSER" doctor > "$tmp/quiet.txt"
check_eq quiet_exit_code $? 0
check quiet_mentions_fin_timeout_myth grep -q "tcp_fin_timeout=.*FIN_WAIT2's timeout, not TIME_WAIT's" "$tmp/quiet.txt"

# 8. Usage errors exit 2 with a message.
"$CLOSER" doctor --bogus 2> "$tmp/err.txt"; check_eq bad_flag_exit $? 2
check bad_flag_message grep -q "unknown option '--bogus'" "$tmp/err.txt"
"$CLOSER" doctor -N closer-no-such-ns 2> "$tmp/err.txt"; check_eq bad_netns_exit $? 2

# 9. Without root: the socket table is still read (sock_diag needs no
#    privilege), owners are reported as not visible instead of guessed.
if pile nonroot_setup cw-not-closed 8085 4; then
    ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "$CLOSER" doctor --json > "$tmp/nonroot.json"
    check_eq nonroot_exit_code $? 1
    check_eq nonroot_hidden_finding "$(finding nonroot close-wait-owner-hidden)" "4 8085 None"
    check_eq nonroot_no_false_class "$(finding nonroot close-wait-not-polled)" none
    check nonroot_says_what_it_missed test "$(json_get "$tmp/nonroot.json" "d['processes_not_visible']")" -gt 0
fi
