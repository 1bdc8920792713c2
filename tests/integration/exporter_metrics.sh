#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer exporter against referees: real piles in a private namespace, the
# exposition checked by promtool, counts by ss, HTTP answers by curl;
# concurrent scrapes, a stalled scraper, the per-connection timeout, SIGTERM;
# the contrib rules and dashboard checked against the real metric names.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)

netns_new NS
mkpile "$NS" server-tw 8080 30
mkpile "$NS" cw-not-closed 8081 5 && CW_PID=$PILE_PID
mkpile "$NS" client-tw 8083 7

# The exporter listens inside the namespace (so nothing leaves it).
bg EXP ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9337 --timeout 1s --cache 0ms
wait_listen "$NS" 9337 || fail exporter_listens "no listener on 9337"
scrape() { ip netns exec "$NS" curl -s --max-time 5 "$@"; }
scrape http://127.0.0.1:9337/metrics > "$tmp/m1"
check promtool_accepts_exposition promtool check metrics < "$tmp/m1"
check has_help_and_type bash -c "grep -q '^# HELP closer_tcp_sockets ' '$tmp/m1' && grep -q '^# TYPE closer_time_wait_sockets_by_age gauge' '$tmp/m1'"
val() { awk -v k="$1" '$1==k{print $2}' "$2"; }
check_eq time_wait_matches_ss "$(val 'closer_tcp_sockets{state="TIME_WAIT"}' "$tmp/m1")" \
    "$(ip netns exec "$NS" ss -Htan state time-wait 'not sport = :9337 and not dport = :9337' | wc -l)"
check_eq server_port_tw_matches_ss "$(val 'closer_server_sockets{port="8080",state="TIME_WAIT"}' "$tmp/m1")" \
    "$(ip netns exec "$NS" ss -Htan state time-wait sport = :8080 | wc -l)"
check_eq server_port_tw_30 "$(val 'closer_server_sockets{port="8080",state="TIME_WAIT"}' "$tmp/m1")" 30
check_eq client_dest_tw "$(val 'closer_client_sockets{destination="127.0.0.1:8083",state="TIME_WAIT"}' "$tmp/m1")" \
    "$(ip netns exec "$NS" ss -Htan state time-wait dport = :8083 | wc -l)"
check_eq close_wait_by_process_name "$(val 'closer_close_wait_sockets{comm="mkpile",owner="process"}' "$tmp/m1")" 5
check no_pid_label bash -c "! grep -q 'pid=' '$tmp/m1'"
check_eq tw_age_60s_is_all_tw "$(val 'closer_time_wait_sockets_by_age{max_age_seconds="60"}' "$tmp/m1")" \
    "$(val 'closer_tcp_sockets{state="TIME_WAIT"}' "$tmp/m1")"
check tw_age_cumulative awk -F'[ "]' '/^closer_time_wait_sockets_by_age\{/{ if ($NF+0 < prev) bad=1; prev=$NF+0 } END{exit bad}' "$tmp/m1"
check tw_entries_60s awk '/^closer_tcp_sockets\{state="TIME_WAIT"\}/{t=$2} /^closer_time_wait_entries_per_second\{window="60s"\}/{r=$2} END{exit !(t > 0 && (r*60 - t)^2 < 1e-6)}' "$tmp/m1"
check build_info grep -q '^closer_build_info{version="[^"]*",compiler="[^"]*"} 1$' "$tmp/m1"
check no_always_on_sysctl_findings bash -c "! grep -q '^closer_doctor_findings{id=\"sysctl-[^\"]*\",severity=\"info\"}' '$tmp/m1'"
check_eq listen_backlog_8081 "$(val 'closer_listen_backlog{listen="127.0.0.1:8081"}' "$tmp/m1")" \
    "$(ip netns exec "$NS" ss -Hltn sport = :8081 | awk '{print $3}')"
check doctor_finding_exported grep -q '^closer_doctor_findings{id="close-wait-not-closed",severity="[a-z]*"} 1$' "$tmp/m1"
check netstat_counter_exported grep -q '^closer_tcp_passive_opens_total [0-9]' "$tmp/m1"
check sysctl_exported grep -q '^closer_sysctl{name="net.ipv4.tcp_fin_timeout"} [0-9]' "$tmp/m1"

# --top-ports 1 / --top-destinations 0: the rest summed into "other".
bg EXP2 ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9338 --top-ports 1 --top-destinations 0 --no-doctor
wait_listen "$NS" 9338
scrape http://127.0.0.1:9338/metrics > "$tmp/m2"
check_eq bounded_ports_one_series "$(grep -c '^closer_server_sockets{port="[0-9]*",state="TIME_WAIT"}' "$tmp/m2")" 1
# All client-side TIME_WAIT (the piles' and earlier scrapes') is in "other".
check_eq bounded_dests_other "$(val 'closer_client_sockets{destination="other",state="TIME_WAIT"}' "$tmp/m2")" \
    "$(awk '/^closer_tcp_sockets\{state="TIME_WAIT"\}/{t=$2} /^closer_server_sockets\{.*state="TIME_WAIT"\}/{s+=$2} END{print t-s}' "$tmp/m2")"
check bounded_dests_other_nonzero test "$(val 'closer_client_sockets{destination="other",state="TIME_WAIT"}' "$tmp/m2")" -ge 7
check no_doctor_no_findings bash -c "! grep -q '^closer_doctor_findings{' '$tmp/m2'"
kill "$EXP2"

# HTTP: HEAD has no body, other methods 405, other paths 404, / links /metrics.
check_eq head_no_body "$(scrape -I http://127.0.0.1:9337/metrics -o /dev/null -w '%{http_code} %{size_download}')" "200 0"
check_eq content_type "$(scrape -o /dev/null -w '%{content_type}' http://127.0.0.1:9337/metrics)" "text/plain; version=0.0.4; charset=utf-8"
check_eq post_405 "$(scrape -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9337/metrics)" 405
check_eq other_path_404 "$(scrape -o /dev/null -w '%{http_code}' http://127.0.0.1:9337/nope)" 404
check index_links_metrics bash -c "ip netns exec '$NS' curl -s http://127.0.0.1:9337/ | grep -q 'href=\"/metrics\"'"

# A stalled scraper (half a request, never read) does not block others;
# after --timeout 1s the exporter drops it; 40 concurrent scrapes all succeed.
ip netns exec "$NS" python3 -c "
import socket,time
s=socket.create_connection(('127.0.0.1',9337)); s.sendall(b'GET /metr')
s.settimeout(5); t=time.time()
try: d=s.recv(100)
except Exception: d=None
print('closed' if d==b'' else 'open', file=open('$tmp/stall','w'))" &
stall=$!
sleep 0.2
curls=()
for i in $(seq 1 40); do scrape -o /dev/null -w '%{http_code}\n' http://127.0.0.1:9337/metrics >> "$tmp/codes" & curls+=($!); done
wait "${curls[@]}" "$stall"
check_eq concurrent_scrapes_ok "$(grep -c '^200$' "$tmp/codes")" 40
check_eq stalled_conn_timed_out "$(cat "$tmp/stall")" closed
# Keep-alive: two requests on one connection (curl reuses it).
check_eq keepalive_reuse "$(scrape -s -o /dev/null -o /dev/null -w '%{num_connects}\n' http://127.0.0.1:9337/metrics http://127.0.0.1:9337/ | paste -sd,)" "1,0"

# --netns: the listener on the host side, the sockets from NS.
PORT=$((20000 + RANDOM % 20000))
bg EXP3 "$CLOSER" exporter --listen 127.0.0.1:$PORT --netns "$NS"
wait_for 5 curl -s -o /dev/null http://127.0.0.1:$PORT/ || fail netns_listener "no listener"
check_eq netns_exports_other_ns "$(curl -s http://127.0.0.1:$PORT/metrics | awk '$1=="closer_server_sockets{port=\"8080\",state=\"TIME_WAIT\"}"{print $2}')" 30
kill "$EXP3"

# Bad usage.
"$CLOSER" exporter --top-ports x >/dev/null 2>&1; check_eq bad_value_exit_2 $? 2
"$CLOSER" exporter --nope >/dev/null 2>&1; check_eq bad_flag_exit_2 $? 2
"$CLOSER" exporter --help | grep -q -- '--top-destinations'; check_eq help_exit_0 $? 0

# SIGTERM ends it with status 0.
kill -TERM "$EXP"; wait "$EXP"; check_eq sigterm_exit_0 $? 0

# contrib: the rules pass promtool, and every metric they and the dashboard
# use is one the exporter really serves.
check rules_pass_promtool promtool check rules "$ROOTDIR/contrib/closer-alerts.yml"
names=$(grep -o '^closer_[a-z_]*' "$tmp/m1" | sort -u)
used=$( (grep -o 'closer_[a-z_]*' "$ROOTDIR/contrib/closer-alerts.yml"; python3 -c "
import json,sys
d=json.load(open('$ROOTDIR/contrib/closer-grafana.json'))
for p in d['panels']:
    for t in p['targets']: print(t['expr'])" | grep -o 'closer_[a-z_]*') | sort -u)
missing=$(comm -13 <(echo "$names") <(echo "$used"))
check_eq contrib_metrics_exist "$missing" ""
