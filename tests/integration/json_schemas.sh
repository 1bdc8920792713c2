#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every --json output validated against its schema in schemas/ by a real
# validator (Debian's python3-jsonschema), on real sockets in a private
# namespace: states (plain, -p, --summary, --all-netns), doctor (and
# --all-netns), load, probe, lab, trace. Then the contract's rules: the
# "schema" field names the file, one spelling of states (ss's TIME_WAIT form
# nowhere as "time-wait"), endpoints split into _ip and _port, null (never -1
# or "none") where there is nothing.
. "$(dirname "$0")/../lib/lib.sh"
need_root
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema missing (scripts/deps.sh)"; exit 0; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
valid() {  # NAME FILE [--lines]
    local out; out=$(/usr/bin/python3 "$ROOT/tests/lib/validate_json.py" "$ROOT/schemas" "$2" "${@:3}" 2>&1)
    case $out in ok*) pass "$1";; *) fail "$1" "$out: $(head -c 300 "$2")";; esac
}

# The validator itself rejects what breaks a contract (it can fail).
echo '{"schema":"closer.states/1","source":"netlink","source_note":null,"netns":null,"summary":{"time-wait":1},"total":1}' > "$tmp/bad1.json"
echo '{"schema":"closer.load/1"}' > "$tmp/bad2.json"
echo '{"source":"netlink"}' > "$tmp/bad3.json"
for b in bad1 bad2 bad3; do
    /usr/bin/python3 "$ROOT/tests/lib/validate_json.py" "$ROOT/schemas" "$tmp/$b.json" >/dev/null 2>&1
    check_eq validator_rejects_$b $? 1
done

netns_new NS
bg SP ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8080 --return 200 ok
wait_listen "$NS" 8080
mkpile "$NS" cw-not-closed 8081 3
in_ns "$NS" "$CLOSER" load http://127.0.0.1:8080/ -n 30 -c 2 --keepalive off --json > "$tmp/load.json"
valid load "$tmp/load.json"
in_ns "$NS" "$CLOSER" load http://127.0.0.1:1/ -n 2 --json > "$tmp/load_refused.json"
valid load_refused "$tmp/load_refused.json"
check_eq load_nothing_measured_is_null "$(json_get "$tmp/load_refused.json" "d['latency']['p50_us'], d['requests_per_connection'], d['rate_per_s']")" "None None None"
check_eq load_target_split "$(json_get "$tmp/load.json" "d['target'], d['target_ip'], d['target_port']")" "127.0.0.1:8080 127.0.0.1 8080"
in_ns "$NS" "$CLOSER" probe http://127.0.0.1:8080/ --deadline 4s --json > "$tmp/probe.json" 2>/dev/null
valid probe "$tmp/probe.json"

in_ns "$NS" "$CLOSER" states --json > "$tmp/states.json"
valid states "$tmp/states.json"
in_ns "$NS" "$CLOSER" states -p --json > "$tmp/states_p.json" 2>/dev/null
valid states_processes "$tmp/states_p.json"
in_ns "$NS" "$CLOSER" states --summary --json > "$tmp/states_s.json"
valid states_summary "$tmp/states_s.json"
"$CLOSER" states --all-netns --summary --json > "$tmp/states_all.json" 2>/dev/null
valid states_all_netns "$tmp/states_all.json"
check_eq states_tw_spelling "$(json_get "$tmp/states.json" "d['summary']['TIME_WAIT'] == sum(s['state'] == 'TIME_WAIT' for s in d['sockets']) > 0")" True
check_eq states_listener_peer_null "$(json_get "$tmp/states.json" "sorted({(s['local_port'], s['peer'], s['peer_port'], s['timer']) for s in d['sockets'] if s['state'] == 'LISTEN' and s['local_port'] == 8080})")" "[(8080, None, None, None)]"
check_eq states_endpoint_split "$(json_get "$tmp/states.json" "all(s['local'] == s['local_ip'] + ':' + str(s['local_port']) for s in d['sockets'] if s['family'] == 'ipv4')")" True
check_eq states_netns_inode "$(json_get "$tmp/states.json" "d['netns']['inode']")" "$(ip netns exec "$NS" stat -L -c %i /proc/self/ns/net)"
# The one spelling in text, JSON and metrics: TIME_WAIT, not time-wait.
check_eq text_json_same_spelling "$(in_ns "$NS" "$CLOSER" states -H state time-wait | awk '{print $1}' | sort -u)" TIME_WAIT

# A replayed dump: states names no namespace (null), both still valid.
in_ns "$NS" "$CLOSER" states --record "$tmp/rec.bin" >/dev/null
"$CLOSER" states --replay "$tmp/rec.bin" --json > "$tmp/states_replay.json" 2>/dev/null
valid states_replay "$tmp/states_replay.json"
check_eq states_replay_netns_null "$(json_get "$tmp/states_replay.json" "d['netns']")" None
"$CLOSER" doctor --replay "$tmp/rec.bin" --json > "$tmp/doctor_replay.json" 2>/dev/null
valid doctor_replay "$tmp/doctor_replay.json"

in_ns "$NS" "$CLOSER" doctor --json > "$tmp/doctor.json" 2>/dev/null
valid doctor "$tmp/doctor.json"
# A sysctl the kernel does not have is null, not -1 (tcp_tw_recycle: gone since 4.12).
check_eq doctor_absent_sysctl_null "$(json_get "$tmp/doctor.json" "[f['facts'].get('tcp_tw_recycle', 'absent') for f in d['findings'] if f['id'] == 'sysctl-tcp-tw-recycle']")" "[None]"
check_eq doctor_no_minus_one_fact "$(json_get "$tmp/doctor.json" "[(f['id'], k) for f in d['findings'] for k, v in f['facts'].items() if v == -1]")" "[]"
"$CLOSER" doctor --all-netns --json > "$tmp/doctor_all.json" 2>/dev/null
valid doctor_all_netns "$tmp/doctor_all.json"

# Findings that carry addresses, IPv4 and IPv6: client TIME_WAIT to a
# destination (mkpile; a Python client on [::1]), CLOSE_WAIT peers and their
# far ends on this host. Validated, each string agrees with its _ip/_port,
# and the peers are the ones ss shows.
netns_new NA
in_ns "$NA" sysctl -qw net.ipv4.ip_local_port_range="40000 40199"
mkpile "$NA" client-tw 8200 40
mkpile "$NA" cw-not-closed 8201 3
bg PY6 ip netns exec "$NA" /usr/bin/python3 "$ROOT/tests/lib/v6_piles.py" 8100 40 "$tmp/ready6"
wait_for 10 test -s "$tmp/ready6" || fail v6_piles_ready "no IPv6 pile"
in_ns "$NA" "$CLOSER" doctor --confirm 0 --json > "$tmp/doctor_addr.json" 2>/dev/null
valid doctor_addresses "$tmp/doctor_addr.json"
fmt='def ep(ip, port): return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)
def src(ip): return "[%s]" % ip if ":" in ip else ip
'
addr_q() { /usr/bin/python3 -c "import json,sys
$fmt
d = json.load(open(sys.argv[1])); F = d['findings']
print($2)" "$1"; }
check_eq doctor_dest_split "$(addr_q "$tmp/doctor_addr.json" "sorted((f['id'], f['dest_ip'], f['dest_port'], f['source_ip']) for f in F if 'dest' in f and f['dest'] == ep(f['dest_ip'], f['dest_port']) and f['source'] == src(f['source_ip']))")" \
    "[('client-port-pressure', '127.0.0.1', 8200, '127.0.0.1'), ('client-port-pressure', '::1', 8100, '::1')]"
check_eq doctor_peer_list_split "$(addr_q "$tmp/doctor_addr.json" "all(p['peer'] == ep(p['peer_ip'], p['peer_port']) and p['peer'] in f['peers'] for f in F for p in f.get('peer_list', []))")" True
for p in 8100 8201; do
    check_eq doctor_close_wait_peers_${p} "$(addr_q "$tmp/doctor_addr.json" "sum(len(f['peer_list']) for f in F if f.get('port') == $p and f['id'].startswith('close-wait-'))")" \
        "$([ $p = 8100 ] && echo 4 || echo 3)"
    check_eq doctor_peers_are_ss_${p} "$(addr_q "$tmp/doctor_addr.json" "' '.join(sorted(p['peer'] for f in F if f.get('port') == $p and f['id'].startswith('close-wait-') for p in f['peer_list']))")" \
        "$(in_ns "$NA" ss -Htan state close-wait "( sport = :$p )" | awk '{print $4}' | sort | tr '\n' ' ' | sed 's/ $//')"
done
check_eq doctor_far_end_split "$(addr_q "$tmp/doctor_addr.json" "sorted((f['port'], f['far_end_ip'], f['far_end_state'], f['far_end'] == ep(f['far_end_ip'], f['far_end_port'])) for f in F if 'far_end' in f)")" \
    "[(8100, '::1', 'FIN_WAIT2', True), (8201, '127.0.0.1', 'FIN_WAIT2', True)]"
"$CLOSER" doctor --all-netns --confirm 0 --json > "$tmp/doctor_all_addr.json" 2>/dev/null
valid doctor_all_netns_addresses "$tmp/doctor_all_addr.json"
check_eq doctor_all_netns_has_dests "$(addr_q "$tmp/doctor_all_addr.json" "sorted(f['dest'] for f in F if 'dest' in f and f['netns']['inode'] == $(in_ns "$NA" stat -L -c %i /proc/self/ns/net))")" \
    "['127.0.0.1:8200', '[::1]:8100']"

# One lab scenario (its own namespaces) with --json.
"$CLOSER" lab run close-header --json > "$tmp/lab.json" 2>/dev/null
valid lab "$tmp/lab.json"
check_eq lab_measurements_structured "$(json_get "$tmp/lab.json" "[(m['name'], m['unit']) for m in d['scenarios'][0]['measurements'] if m['name'] == 'server_time_wait']")" "[('server_time_wait', 'sockets')]"

# trace: JSON lines (needs tracepoints: skipped where the kernel has none).
if in_ns "$NS" "$CLOSER" trace --json -d 1s -H > "$tmp/trace.jsonl" 2>"$tmp/trace.err" & TP=$!; sleep 0.4; then
    in_ns "$NS" "$CLOSER" load http://127.0.0.1:8080/ -n 5 --keepalive off >/dev/null 2>&1
    wait $TP; trc=$?
    if [ $trc -eq 0 ]; then valid trace_lines "$tmp/trace.jsonl" --lines
    else echo "SKIP trace: $(head -c 200 "$tmp/trace.err")"; fi
fi

# top --batch --json: one object per interval, the counts are ss's.
in_ns "$NS" "$CLOSER" top --batch --json -n 2 -i 200ms > "$tmp/top.jsonl"
valid top_lines "$tmp/top.jsonl" --lines
check_eq top_two_objects "$(wc -l < "$tmp/top.jsonl")" 2
check_eq top_close_wait_vs_ss "$(head -1 "$tmp/top.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["states"]["CLOSE_WAIT"])')" "$(in_ns "$NS" ss -Htan state close-wait | wc -l)"
"$CLOSER" top --all-netns --json -n 2 -i 200ms > "$tmp/top_all.jsonl" 2>/dev/null
valid top_all_netns_lines "$tmp/top_all.jsonl" --lines
check_eq top_first_change_null "$(head -1 "$tmp/top.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["time_wait_change_per_s"])')" None

# Every JSON names its schema first.
for f in load probe states doctor lab; do
    check_eq ${f}_schema_first "$(head -c 10 "$tmp/$f.json")" '{"schema":'
done
