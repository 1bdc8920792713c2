#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer load against nginx (stub_status) and closer serve (--status): its
# request and connection counts must agree with the server's own counters,
# its who-closed-first with the closing pattern asked for, and its TIME_WAIT
# report with ss. Each case runs in a fresh namespace so counts are exact.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
PORT=8080
URL=http://127.0.0.1:$PORT/
n=0
q() { json_get "$tmp/l.json" "$1"; }
# After each run, ss's TIME_WAIT counts are taken at once (before the stub
# fetch by curl adds one of its own): TW_SRV on the server port, TW_CLI towards it.
load() {
    in_ns "$NS" "$CLOSER" load "$URL" --json "$@" > "$tmp/l.json"
    TW_SRV=$(ss_tw "sport = :$PORT") TW_CLI=$(ss_tw "dport = :$PORT")
}
# nginx's stub_status: "accepts handled requests" line, without our own fetch.
stub() { in_ns "$NS" curl -s "http://127.0.0.1:$PORT/stub" | awk 'NR==3 {print $1 - 1, $3 - 1}'; }
ss_tw() { in_ns "$NS" ss -Htn state time-wait "$1" | wc -l; }
nginx_ns() { netns_new NS; n=$((n + 1)); nginx_start "$NS" $PORT "$tmp/ng$n" "$1"; }

# Keep-alive with a server cap of 7: the server closes every 7th response
# (one connection, so 200 = 28 x 7 + 4 is exact; the last is open at the end).
# --close-wait 1s: the client waits for the FIN nginx sends after its
# announced close, so every one of those closes is the server's.
nginx_ns "keepalive_requests 7;"
load -c 1 -n 200 --close-wait 1s
check_eq nginx_cap_counts_match_stub "$(q "d['connections_opened'], d['requests']" | tr -d '(),')" "$(stub)"
check_eq nginx_cap_server_closes "$(q "d['closed_first']['server'], d['closed_first']['client'], d['closed_first']['open_at_end'], d['errors']['closed_early'], d['status_2xx']")" "28 0 1 0 200"
check_eq nginx_cap_tw_on_server_vs_ss "$(q "d['time_wait_at_target']")" "$TW_SRV"
check_eq nginx_cap_tw_at_target_is_28 "$(q "d['time_wait_at_target']")" 28

# --keepalive off: the client closes after each response; TIME_WAIT on the client.
nginx_ns ""
load -c 4 -n 200 --keepalive off
check_eq ka_off_counts_match_stub "$(q "d['connections_opened'], d['requests']" | tr -d '(),')" "$(stub)"
check_eq ka_off_client_closes "$(q "d['closed_first']['client'], d['closed_first']['server']")" "200 0"
check_eq ka_off_tw_towards_target_vs_ss "$(q "d['time_wait_towards_target']")" "$TW_CLI"
check_eq ka_off_tw_is_200 "$(q "d['time_wait_towards_target'], d['time_wait_at_target']")" "200 0"

# --close-header, waiting for the server's FIN: TIME_WAIT on the server.
nginx_ns ""
load -c 4 -n 200 --close-header --close-wait 1s
check_eq close_header_counts_match_stub "$(q "d['connections_opened'], d['requests']" | tr -d '(),')" "$(stub)"
check_eq close_header_server_closes "$(q "d['closed_first']['server'], d['closed_first']['client'], d['announced_closes']")" "200 0 200"
check_eq close_header_tw_vs_ss "$(q "d['time_wait_at_target'], d['time_wait_towards_target']")" "$TW_SRV $TW_CLI"
check_eq close_header_tw_on_server "$(q "d['time_wait_at_target'], d['time_wait_towards_target']")" "200 0"
# By default the client closes at once after an announced close (as wrk):
# whoever's FIN went first is counted, every close once, and ss agrees.
nginx_ns ""
load -c 4 -n 200 --close-header
check_eq close_at_once_sum "$(q "d['closed_first']['server'] + d['closed_first']['client'] + d['closed_first']['reset'], d['connections_opened'], d['announced_closes']")" "200 200 200"
check_eq close_at_once_client_first_counted "$(q "d['closed_first']['client']")" "$(q "d['announced_closes_client_first']")"
check_eq close_at_once_tw_vs_ss "$(q "d['time_wait_at_target'], d['time_wait_towards_target']")" "$TW_SRV $TW_CLI"

# --client-close: the server says close, the client does not wait for its FIN.
nginx_ns ""
load -c 2 -n 50 --close-header --client-close
check_eq client_close_counts "$(q "d['requests'], d['connections_opened'], d['errors']['closed_early']")" "50 50 0"
check_eq client_close_tw_vs_ss "$(q "d['time_wait_at_target'] + d['time_wait_towards_target']")" \
    "$((TW_SRV + TW_CLI))"

# HTTP/1.0: one connection per request; with Connection: keep-alive nginx keeps it.
nginx_ns ""
load -c 2 -n 40 --http1.0 --close-wait 1s
check_eq http10_one_per_request "$(q "d['requests'], d['connections_opened'], d['closed_first']['server']")" "40 40 40"
load -c 2 -n 40 --http1.0 --keepalive on
check_eq http10_keepalive_two_conns "$(q "d['requests'], d['connections_opened'], d['closed_first']['open_at_end'], d['closed_first']['client']")" "40 2 2 0"

# --requests-per-conn 5: the client recycles, so TIME_WAIT lands on the client.
nginx_ns ""
load -c 1 -n 100 --requests-per-conn 5
check_eq rpc_counts_match_stub "$(q "d['connections_opened'], d['requests']" | tr -d '(),')" "$(stub)"
check_eq rpc_client_closes "$(q "d['connections_opened'], d['closed_first']['client'], d['time_wait_towards_target']")" "20 20 $TW_CLI"

# --idle crosses the server's idle timeout: every connection ends with the
# server's FIN while the client pauses.
nginx_ns "keepalive_timeout 1s;"
load -c 2 -n 4 --idle 1500ms
check_eq idle_server_fin "$(q "d['requests'], d['connections_opened'], d['closed_first']['server'], d['errors']['closed_early']")" "4 4 2 0"

# Open loop: never more than the schedule, and every one counted by nginx.
nginx_ns ""
load -c 4 -t 2 -d 1s --rate 300
got=$(q "d['requests']")
check open_loop_at_most_schedule [ "$got" -le 301 -a "$got" -gt 0 ]
check_eq open_loop_counts_match_stub "$(q "d['requests']")" "$(stub | cut -d' ' -f2)"

# closer serve --status, two threads: the server's counters agree.
netns_new NS
bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --workers 1 --status /status \
    --return 200 ok --keepalive-requests 7 2>/dev/null
wait_listen "$NS" $PORT
load -c 6 -t 2 -n 300
in_ns "$NS" curl -s "http://127.0.0.1:$PORT/status.json" > "$tmp/s.json"
check_eq serve_requests "$(q "d['requests']")" "$(json_get "$tmp/s.json" "d['requests']")"
check_eq serve_connections "$(q "d['connections_opened']")" "$(json_get "$tmp/s.json" "d['accepted'] - 1")"
# A 7th response can end the run before its FIN is read: the server's count
# lies between the client's server-first closes and those plus the still-open ones.
cap=$(json_get "$tmp/s.json" "d['closed']['request_cap']")
check serve_cap_closes python3 -c "import sys; sys.exit(not ($(q "d['closed_first']['server']") <= $cap <= $(q "d['closed_first']['server'] + d['closed_first']['open_at_end']")) or $cap == 0)"

# --bind-range spreads source addresses (all of 127/8 is local).
nginx_ns ""
load -c 6 -n 60 --keepalive off --bind-range 127.0.0.2-127.0.0.4
check_eq bind_range_sources "$(in_ns "$NS" ss -Htn state time-wait "dport = :$PORT" | awk '{split($3, a, ":"); print a[1]}' | sort -u | tr '\n' ' ')" \
    "127.0.0.2 127.0.0.3 127.0.0.4 "

# Ephemeral ports exhausted: 10 ports, no TIME_WAIT reuse, keep-alive off.
netns_new NS
in_ns "$NS" sysctl -qw net.ipv4.ip_local_port_range="40000 40009" net.ipv4.tcp_tw_reuse=0
n=$((n + 1)); nginx_start "$NS" $PORT "$tmp/ng$n" ""
load -c 2 -d 1s --keepalive off
check eaddrnotavail_counted [ "$(q "d['errors']['eaddrnotavail']")" -gt 0 ]
check_eq eaddrnotavail_tw_vs_ss "$(q "d['time_wait_towards_target']")" "$TW_CLI"

# Response framing other servers use (tests/lib/framing_server.py): a chunked
# body in pieces with an extension and a trailer keeps the connection; a body
# ended by the server's close counts one server close per request; a chunk
# size that is not hex is a bad response, not a hang.
netns_new NS
bg FPID ip netns exec "$NS" python3 "$(dirname "$0")/../lib/framing_server.py" $PORT
if wait_listen "$NS" $PORT; then
    URL=http://127.0.0.1:$PORT/chunked load -c 2 -n 50
    check_eq chunked_keepalive "$(q "d['requests'], d['status_2xx'], d['connections_opened'], sum(d['errors'].values())")" "50 50 2 0"
    URL=http://127.0.0.1:$PORT/eof load -c 2 -n 50
    check_eq close_delimited "$(q "d['requests'], d['status_2xx'], d['connections_opened'], d['closed_first']['server'], sum(d['errors'].values())")" "50 50 50 50 0"
    URL=http://127.0.0.1:$PORT/badchunk load -c 1 -n 5 --timeout 5s
    check_eq bad_chunk_is_bad_response "$(q "d['status_2xx'], d['errors']['bad_response'], d['errors']['timeout']")" "0 5 0"
else
    fail framing_server "python framing server did not start"
fi
kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null

# Refused, and usage errors.
in_ns "$NS" "$CLOSER" load http://127.0.0.1:1/ -n 5 --json > "$tmp/l.json"
check_eq refused_exit $? 1
check_eq refused_counted "$(q "d['errors']['refused'], d['connections_opened'], d['requests']")" "5 0 0"
"$CLOSER" load "$URL" 2>/dev/null; check_eq unbounded_is_usage_error $? 2
"$CLOSER" load "$URL" -n 1 --bogus 2>/dev/null; check_eq bad_flag_exit $? 2
"$CLOSER" load "$URL" -n 1 --keepalive maybe 2>/dev/null; check_eq bad_value_exit $? 2
"$CLOSER" load --help | grep -q -- --requests-per-conn; check_eq help_exit $? 0

# Command-line input (issue 11 item 8): every value bounded and checked, a
# clear message and exit 2; nothing with CR/LF reaches the wire.
usage_err() { "$CLOSER" "$@" 2>&1 >/dev/null; echo "rc=$?"; }
long=$(printf 'A%.0s' $(seq 5000))
check_eq method_too_long "$(usage_err load "$URL" -n 1 --method "$long")" \
    "closer load: bad value for --method: '$(printf 'A%.0s' $(seq 64))...' (5000 bytes; longer than 32 bytes)
rc=2"
check_eq method_crlf "$(usage_err load "$URL" -n 1 --method "$(printf 'GET\r\nX-Injected: 1')")" \
    "closer load: bad value for --method: 'GET\\x0d\\x0aX-Injected: 1' (contains CR or LF (header injection))
rc=2"
check_eq header_crlf "$(usage_err load "$URL" -n 1 -H "$(printf 'X-A: 1\r\nX-Injected: 1')")" \
    "closer load: bad value for -H: 'X-A: 1\\x0d\\x0aX-Injected: 1' (contains CR or LF (header injection))
rc=2"
check_eq header_bad_name "$(usage_err load "$URL" -n 1 -H 'X A: 1')" \
    "closer load: bad value for -H: 'X A: 1' (the name is not an HTTP token (no spaces or control bytes))
rc=2"
check_eq url_crlf_load "$(usage_err load "$(printf 'http://127.0.0.1:8080/a\r\nX: y')" -n 1)" \
    "closer load: the URL has a CR (0x0d) at byte 23: refused, it would break the request line
rc=2"
check_eq url_crlf_probe "$(usage_err probe "$(printf 'http://127.0.0.1:8080/a b')")" \
    "closer probe: the URL has a space (0x20) at byte 23: refused, it would break the request line
rc=2"
check_eq path_too_long "$(usage_err load "http://127.0.0.1:8080/$(printf 'a%.0s' $(seq 3000))" -n 1)" \
    "closer load: the URL path is 3001 bytes, longer than the limit (2047)
rc=2"
for bad in nan inf 0x10 " 5" "5 " 1e3 1e-300 -1 0; do
    check_eq "rate_rejects_'$bad'" "$(usage_err load "$URL" -n 1 --rate "$bad" | tail -1)" rc=2
done
for bad in nan inf 0x10 " 5s" "5s " 1e3 1e-300 0.0001s 5sjunk 30s1m 0; do
    check_eq "duration_rejects_'$bad'" "$(usage_err load "$URL" -d "$bad" | tail -1)" rc=2
    check_eq "probe_deadline_rejects_'$bad'" "$(usage_err probe "$URL" --deadline "$bad" | tail -1)" rc=2
done
check_eq idle_needs_unit "$(usage_err load "$URL" -n 1 --idle 1500)" \
    "closer load: bad value for --idle: '1500' (a duration with a unit, up to 1h, like 1500ms or 2s)
rc=2"
check_eq size_rejects_hex "$(usage_err serve --max-body 0x10 | tail -1)" rc=2
# Compound durations are accepted (nginx's syntax), and a valid method goes out.
nginx_ns ""
load -n 2 -c 1 --timeout 2m30s --idle 1s500ms --close-wait 0s --method HEAD
check_eq compound_durations_accepted "$(q "d['requests'], d['status_2xx']")" "2 2"
# More connections than file descriptors: the soft limit is raised toward
# the hard one and every connection opens; past the hard limit a clear
# error and exit 2 (before, 73 of 100 connects failed with EMFILE as
# "other" errors of a run that exited 0).
(ulimit -Sn 32; in_ns "$NS" "$CLOSER" load "$URL" --json -c 100 -n 300 > "$tmp/l.json")
check_eq fd_soft_limit_raised "$(q "d['connections_opened'], d['errors']['other']")" "100 0"
(ulimit -n 32; in_ns "$NS" "$CLOSER" load "$URL" -c 100 -n 300 >/dev/null 2>"$tmp/fd.err"); rc=$?
check_eq fd_hard_limit_exit_2 "$rc $(grep -c 'need about .* file descriptors; the limit is 32' "$tmp/fd.err")" "2 1"
