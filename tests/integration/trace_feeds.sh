#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The feeds of closer trace. closer exporter --trace: measured closes as
# Prometheus counters; closer load closes 30 connections first, serve
# --linger-zero resets 5: the counters say so exactly, promtool accepts the
# exposition. closer top --trace: closes/s by side add up to the
# connections made.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d)
netns_new NS
bg SRV ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8080 -w 1 --return 200 ok
bg LZ ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8081 -w 1 --return 200 ok --linger-zero
bg EXP ip netns exec "$NS" "$CLOSER" exporter -l 127.0.0.1:9337 --trace --cache 0
wait_listen "$NS" 8080; wait_listen "$NS" 8081; wait_listen "$NS" 9337
scrape() { ip netns exec "$NS" curl -s --max-time 5 http://127.0.0.1:9337/metrics; }
wait_for 5 sh -c "ip netns exec '$NS' curl -s http://127.0.0.1:9337/metrics | grep -q closer_trace_events_total" ||
    fail "exporter --trace up"
ip netns exec "$NS" "$CLOSER" load http://127.0.0.1:8080/ -n 30 -c 1 --keepalive off >/dev/null
ip netns exec "$NS" "$CLOSER" load http://127.0.0.1:8081/ -n 5 -c 1 --close-header >/dev/null 2>&1
want='closer_trace_closes_total{port="8081",role="outgoing",side="reset"} 5'
wait_for 5 sh -c "ip netns exec '$NS' curl -s http://127.0.0.1:9337/metrics | grep -qF '$want'"
scrape >"$tmp/m.txt"
g() { grep -F "$1" "$tmp/m.txt" | grep -v '^#' | awk '{print $2}'; }
check_eq "load closed first 30" "$(g 'closer_trace_closes_total{port="8080",role="outgoing",side="local"}')" 30
check_eq "serve saw 30 peer-first" "$(g 'closer_trace_closes_total{port="8080",role="accepted",side="peer"}')" 30
check_eq "TIME_WAIT at the client" "$(g 'closer_trace_time_wait_total{port="8080",role="outgoing",where="here"}')" 30
check_eq "linger-zero resets sent" "$(g 'closer_trace_resets_total{port="8081",role="accepted",direction="sent"}')" 5
check_eq "close-after-FIN histogram count" "$(g 'closer_trace_close_after_fin_seconds_count{port="8080",role="accepted"}')" 30
# The session's lost count is exported; not held at 0: its rings carry every
# namespace's events and another tracer on the host can make the kernel
# skip some (hermetic: the counts above are this namespace's, exact).
check "lost events exported" test -n "$(g 'closer_trace_lost_events_total')"
if command -v promtool >/dev/null; then
    check "promtool accepts the exposition" sh -c "promtool check metrics < '$tmp/m.txt'"
fi

# top --batch --trace: 1 s lines; 100 connections made during them.
ip netns exec "$NS" "$CLOSER" top --batch --trace -n 4 -i 1s >"$tmp/top.txt" 2>&1 &
TOP=$!
sleep 1.2
ip netns exec "$NS" "$CLOSER" load http://127.0.0.1:8080/ -n 100 -c 1 --keepalive off >/dev/null
wait $TOP
sum() { grep -o "$1 [0-9.]*" "$tmp/top.txt" | awk '{s += $2} END {printf "%.0f", s}'; }
check_eq "top --trace: local closes/s add up to 100" "$(sum local)" 100
check_eq "top --trace: peer closes/s add up to 100" "$(sum peer)" 100
check_eq "top --trace: no resets" "$(sum reset)" 0
rm -rf "$tmp"
