#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Differential test: closer states against ss -tan on the same quiet
# namespace holding several real piles (LISTEN, TIME_WAIT, CLOSE_WAIT,
# FIN_WAIT2, ESTAB in an accept queue, SYN_SENT), and netlink against the
# /proc/net/tcp fallback and a recorded dump.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT

netns_new NS
for spec in "server-tw 8080 30" "cw-not-closed 8081 5" "accept-full 8082 4" "client-tw 8083 7"; do
    mkpile "$NS" $spec
done
# An IPv6 listener and connection, so both families are compared.
bg P ip netns exec "$NS" python3 -c "
import socket,time
s=socket.socket(socket.AF_INET6); s.bind(('::1',8090)); s.listen(4)
c=socket.create_connection(('::1',8090)); a,_=s.accept(); time.sleep(60)"
wait_listen "$NS" 8090

# Counts per state, "STATE N" lines sorted, in ss's spelling.
ss_counts() { ip netns exec "$NS" ss -Htan "$@" | awk '{print $1}' | sort | uniq -c | awk '{print $2, $1}'; }
closer_counts() {
    ip netns exec "$NS" "$CLOSER" states --summary --json "$@" | python3 -c "
import json,sys
names={'ESTAB':'ESTAB','SYN_SENT':'SYN-SENT','SYN_RECV':'SYN-RECV','FIN_WAIT1':'FIN-WAIT-1',
 'FIN_WAIT2':'FIN-WAIT-2','TIME_WAIT':'TIME-WAIT','UNCONN':'UNCONN','CLOSE_WAIT':'CLOSE-WAIT',
 'LAST_ACK':'LAST-ACK','LISTEN':'LISTEN','CLOSING':'CLOSING'}
d=json.load(sys.stdin)
for k,v in sorted((names[k],v) for k,v in d['summary'].items() if v): print(k, v)"
}
# Settle: the accept-full clients' SYNs are retransmitted, nothing else moves.
sleep 0.3
want=$(ss_counts); got=$(closer_counts)
check_eq summary_matches_ss "$got" "$want"
check summary_has_five_states test "$(echo "$got" | wc -l)" -ge 5
check_eq summary_time_wait "$(echo "$got" | awk '$1=="TIME-WAIT"{print $2}')" 37

# The full listing: the same (state, local, peer) rows as ss.
norm_ss() { ip netns exec "$NS" ss -Htan "$@" | awk '{s=$1; gsub("-","_",s); if(s=="ESTAB")s="ESTAB"; print s, $4, $5}' | sed 's/FIN_WAIT_2/FIN_WAIT2/;s/FIN_WAIT_1/FIN_WAIT1/' | sort; }
norm_closer() { ip netns exec "$NS" "$CLOSER" states -H "$@" | awk '{p=$5; if($1=="LISTEN"){sub(/:\*$/,":*",p)} print $1, $4, p}' | sed -E 's/^LISTEN ([^ ]*) .*/LISTEN \1 */' | sort; }
a=$(norm_ss | sed -E 's/^LISTEN ([^ ]*) .*/LISTEN \1 */'); b=$(norm_closer)
check listing_not_empty test "$(echo "$a" | wc -l)" -gt 50
check_eq listing_matches_ss "$b" "$a"

# Filters agree with ss's filters.
check_eq filter_state_tw "$(ip netns exec "$NS" "$CLOSER" states -H --state time-wait | wc -l)" "$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)"
check_eq filter_sport "$(ip netns exec "$NS" "$CLOSER" states -H --sport 8081 | wc -l)" "$(ip netns exec "$NS" ss -Htan 'sport = :8081' | wc -l)"
check_eq filter_dport "$(ip netns exec "$NS" "$CLOSER" states -H --dport 8083 | wc -l)" "$(ip netns exec "$NS" ss -Htan 'dport = :8083' | wc -l)"
check_eq filter_v6 "$(ip netns exec "$NS" "$CLOSER" states -H -6 | wc -l)" "$(ip netns exec "$NS" ss -Htan -6 | wc -l)"
check_eq filter_two_states "$(ip netns exec "$NS" "$CLOSER" states -H --state close-wait,fin-wait-2 | wc -l)" 10

# The /proc/net/tcp fallback sees the same table.
check_eq proc_fallback_matches "$(closer_counts --proc)" "$want"
check proc_fallback_says_so sh -c "ip netns exec '$NS' '$CLOSER' states --summary --json --proc | grep -q '\"source\":\"proc\"'"

# Record and replay: the replayed table is the recorded one.
ip netns exec "$NS" "$CLOSER" states --record "$tmp/dump" > "$tmp/live.txt"
"$CLOSER" states --replay "$tmp/dump" > "$tmp/replay.txt"
check replay_equals_record cmp -s "$tmp/live.txt" "$tmp/replay.txt"

# The doctor reads a recording without root or live sockets: the same
# TIME_WAIT split as the live run (owners are not part of a recording).
ip netns exec "$NS" "$CLOSER" doctor --json > "$tmp/live.json"
chmod 755 "$tmp"; chmod 644 "$tmp/dump"
setpriv --reuid=65534 --regid=65534 --clear-groups "$CLOSER" doctor --json --replay "$tmp/dump" > "$tmp/replayed.json"
split='(d["time_wait"]["server_side"], d["time_wait"]["client_side"], d["states"]["CLOSE_WAIT"])'
check_eq doctor_replay_same_split "$(json_get "$tmp/replayed.json" "$split")" "$(json_get "$tmp/live.json" "$split")"
check_eq doctor_replay_no_owners "$(json_get "$tmp/replayed.json" "d['owners_read']")" False

# Owners: -p names the pile's process on its CLOSE_WAIT fds, as ss -p does.
check_eq owners_match_ss "$(ip netns exec "$NS" "$CLOSER" states -H -p --state close-wait | grep -o 'fd=[0-9]*' | sort)" "$(ip netns exec "$NS" ss -Htanp state close-wait | grep -o 'fd=[0-9]*' | sort)"
check tw_has_no_owner sh -c "ip netns exec '$NS' '$CLOSER' states -H -p --state time-wait | grep -q 'timewait minisocket: no fd'"
# A state filter without listening sockets still knows the listeners: the
# accept-full pile's queued connections are named as such, not as orphans.
check unaccepted_named_under_filter sh -c "ip netns exec '$NS' '$CLOSER' states -H -p --state established --sport 8082 | grep -q 'in accept queue'"
check unaccepted_not_orphan sh -c "! ip netns exec '$NS' '$CLOSER' states -H -p --state established --sport 8082 | grep -q orphan"
check listen_queue_columns sh -c "ip netns exec '$NS' '$CLOSER' states -H --state listening --sport 8082 | awk '{exit !(\$2==5 && \$3==4)}'"

# ss's filter language: the same rows as ss for each filter, on the same sockets.
# (ss drops its State column when one state is selected: compare address pairs.)
pairs_ss() { ip netns exec "$NS" ss -Htan "$@" | awk '{ if ($1 ~ /^[0-9]+$/) print $3, $4; else print $4, $5 }' | sed -E 's/ [^ ]*:\*$/ */' | sort; }
pairs_closer() { ip netns exec "$NS" "$CLOSER" states -H "$@" | awk '{print $4, $5}' | sed -E 's/ [^ ]*:\*$/ */' | sort; }
while IFS= read -r f; do
    [ -z "$f" ] && continue
    eval "set -- $f"
    a=$(pairs_ss "$@"); b=$(pairs_closer "$@")
    [ -n "$a" ] || [ "$f" = "'dport = :1'" ] || { fail "ssfilter_nonempty" "ss shows nothing for: $f"; continue; }
    check_eq "ssfilter[$f]" "$b" "$a"
done <<'EOF'
state time-wait
state time-wait '( dport = :8083 )'
state close-wait
exclude time-wait
state connected exclude established
'( sport = :8080 )'
sport = :8080
sport :8080
sport eq 8080
sport != :8080
'sport > :8081 and sport < :9000'
'sport < :8081'
'dport > :8082'
'sport lt :8082 and sport gt :8080'
'sport >= :8081 && sport <= :8082'
'dport = :8080 or dport = :8083'
'not sport = :8080'
'! ( sport = :8080 || dport = :8080 )'
'sport = :8080 dport > :1024'
'dport = :1'
src 127.0.0.1
dst 127.0.0.0/8
src 127.0.0.1:8081
'dst 127.0.0.1:8083'
'src [::1]:8090'
'dst [::1]'
'src :8090'
'dst *:8090'
state established '( src [::1] or dport = :8083 )'
EOF
ip netns exec "$NS" "$CLOSER" states -H -e --sport 8090 state listening | grep -q ' uid:0 ino:[1-9]' && pass extended_uid_inode || fail extended_uid_inode "no uid/inode column"
check_eq listening_flag "$(ip netns exec "$NS" "$CLOSER" states -H -l | wc -l)" "$(ip netns exec "$NS" ss -Htln | wc -l)"
check_eq ss_flags_accepted "$(ip netns exec "$NS" "$CLOSER" states -H -tan state time-wait | wc -l)" 37
check_eq dport_colon "$(ip netns exec "$NS" "$CLOSER" states -H --dport :8080 | wc -l)" "$(ip netns exec "$NS" ss -Htan dport = :8080 | wc -l)"
# A reader that goes away: quiet, exit 0 (pipefail shows closer's status).
out=$(set -o pipefail; ip netns exec "$NS" "$CLOSER" states 2>&1 | head -1; echo "rc=$?")
check_eq closed_pipe_quiet "$(echo "$out" | tail -1)" "rc=0"
check closed_pipe_no_message sh -c "! echo '$out' | grep -q 'write error'"
while IFS= read -r bad; do
    eval "set -- $bad"
    "$CLOSER" states "$@" >/dev/null 2>"$tmp/err"; rc=$?
    if [ $rc = 2 ] && grep -q . "$tmp/err"; then pass "ssfilter_rejects[$bad]"; else fail "ssfilter_rejects[$bad]" "rc=$rc $(cat "$tmp/err")"; fi
done <<'EOF'
bogus
sport = :99999
'( sport = :80'
src 1.2.3.4/40
dst != 1.2.3.4
state nonsense
'sport >'
'sport = :80 or'
EOF

# Bad input.
"$CLOSER" states --state nonsense 2>/dev/null; check_eq bad_state_exit $? 2
"$CLOSER" states --sport 0 2>/dev/null; check_eq bad_port_exit $? 2
"$CLOSER" states extra 2>/dev/null; check_eq extra_arg_exit $? 2
