#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer serve judged by independent clients: h2load (nghttp2, HTTP/1.1
# pipelining depth 4), undici (npm, pipelining 4) and wrk against a request cap of 10, so every 10th
# response ends a connection with requests possibly already pipelined behind
# it: the close must be announced (Connection: close) and staged (shutdown,
# drain, close) so no client sees an error. Then slowhttptest's slowloris
# and slow body, cut by client_header_timeout / client_body_timeout while
# curl is still answered.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PORT=8080
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1" 2>/dev/null; }

serve() {
    netns_new NS
    bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --workers 2 --status /status "$@"
    wait_listen "$NS" $PORT
}
status_json() { ip netns exec "$NS" curl -s "http://127.0.0.1:$PORT/status.json"; }

# 1. h2load --h1: without pipelining it reconnects after each announced
#    close and every request succeeds. With -m 4, requests already
#    pipelined behind a Connection: close response are, per RFC 9112 §9.3.2,
#    the client's to retry, and h2load does not: it counts them failed. So
#    the referee there is nginx with keepalive_requests 10 under the same
#    load: the same number must succeed, and every answer must be whole.
h2() { ip netns exec "$NS" h2load --h1 "$@" -n 2000 -c 8 -t 1 "http://127.0.0.1:$PORT/" 2>&1 |
       awk '/^requests:/ {printf "%s %s %s ", $8, $10, $14} /^status codes:/ {print $3}'; }
serve --return 200 ok --keepalive-requests 10
check_eq h2load_cap_no_errors "$(h2 -m 1)" "2000 0 0 2000"
closer_m4=$(h2 -m 4)
cap=$(field "$(status_json)" "d['closed']['request_cap']")
if [ "${cap:-0}" -ge 300 ]; then pass h2load_closes_counted_as_request_cap
else fail h2load_closes_counted_as_request_cap "request_cap=$cap (want >= 300)"; fi
kill "$SPID"; wait "$SPID" 2>/dev/null
ngdir=$(mktemp -d)
mkdir -p "$ngdir/logs"
cat > "$ngdir/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $ngdir/nginx.pid; error_log $ngdir/logs/error.log crit;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 10;
  client_body_temp_path $ngdir/b; proxy_temp_path $ngdir/p; fastcgi_temp_path $ngdir/f;
  uwsgi_temp_path $ngdir/u; scgi_temp_path $ngdir/s;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } } }
CONF
bg NGPID ip netns exec "$NS" nginx -c "$ngdir/nginx.conf" -p "$ngdir"
if wait_listen "$NS" $PORT; then
    check_eq h2load_pipelined_cap_same_as_nginx "$closer_m4" "$(h2 -m 4)"
else
    fail h2load_pipelined_cap_same_as_nginx "nginx did not start"
fi
kill "$NGPID"; wait "$NGPID" 2>/dev/null
# 1a. undici (npm) does retry what was pipelined behind a Connection: close
#     response, but only if the close is staged: a plain close() answers
#     those in-flight requests with a RST and undici fails them (EPIPE,
#     ECONNRESET). With the cap closes staged, all 2000 succeed.
UNDICI=${UNDICI_DIR:-/var/cache/closer/undici-6.21.0}/package
if [ -f "$UNDICI/index.js" ] && command -v node >/dev/null; then
    serve --return 200 ok --keepalive-requests 10
    u=$(ip netns exec "$NS" node "$(dirname "$0")/../lib/undici_pipeline.js" "$UNDICI" \
        "http://127.0.0.1:$PORT" 2000 4)
    check_eq undici_pipelined_cap_no_errors "$(field "$u" "d['ok'], d['errors'], d['codes']")" "2000 0 {}"
    cap=$(field "$(status_json)" "d['closed']['request_cap']")
    if [ "${cap:-0}" -ge 150 ]; then pass undici_closes_counted_as_request_cap
    else fail undici_closes_counted_as_request_cap "request_cap=$cap (want >= 150)"; fi
    kill "$SPID"; wait "$SPID" 2>/dev/null
else
    fail undici_pipelined_cap_no_errors "undici or node missing (scripts/deps.sh installs them)"
fi
# 1b. The status gauges read like nginx's stub_status: with one idle
#     keep-alive connection held open, both say the same
#     "Reading: 0 Writing: 1 Waiting: 1" (the status request is writing).
gauges() { # NS URL
    ip netns exec "$1" python3 -c "
import socket, sys, time, urllib.request
s = socket.create_connection(('127.0.0.1', $PORT))
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
s.recv(4096)
time.sleep(0.2)
body = urllib.request.urlopen(sys.argv[1]).read().decode()
print([l for l in body.splitlines() if l.startswith('Reading')][0].strip())" "$2" 2>&1
}
sed -i 's|location / {|location = /stub { stub_status; } location / {|' "$ngdir/nginx.conf"
bg NGPID ip netns exec "$NS" nginx -c "$ngdir/nginx.conf" -p "$ngdir"
if wait_listen "$NS" $PORT; then
    ng_gauges=$(gauges "$NS" "http://127.0.0.1:$PORT/stub")
    kill "$NGPID"; wait "$NGPID" 2>/dev/null
    serve --return 200 ok --workers 1
    check_eq status_gauges_as_nginx "$(gauges "$NS" "http://127.0.0.1:$PORT/status")" "$ng_gauges"
    kill "$SPID"; wait "$SPID" 2>/dev/null
else
    fail status_gauges_as_nginx "nginx did not start"
fi
rm -rf "$ngdir"
serve --return 200 ok --keepalive-requests 10

# 2. wrk against the same cap: 0 socket errors of any kind.
out=$(ip netns exec "$NS" wrk -t1 -c16 -d2s "http://127.0.0.1:$PORT/" 2>&1)
if echo "$out" | grep -q 'Socket errors'; then
    fail wrk_cap_no_socket_errors "$(echo "$out" | grep 'Socket errors')"
else
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    if [ "${n:-0}" -gt 100 ]; then pass wrk_cap_no_socket_errors; else fail wrk_cap_no_socket_errors "only ${n:-0} requests"; fi
fi
echo "$out" | grep -q 'Non-2xx' && fail wrk_cap_all_2xx "$(echo "$out" | grep Non-2xx)" || pass wrk_cap_all_2xx
kill "$SPID"; wait "$SPID" 2>/dev/null

# 3. Slowloris: 40 connections sending a header line every second never
#    finish their head; client_header_timeout (2 s) cuts each of them.
#    Meanwhile curl gets its answer.
if command -v slowhttptest >/dev/null; then
    log=$(mktemp)
    serve --return 200 ok --client-header-timeout 2s --client-body-timeout 2s
    ip netns exec "$NS" slowhttptest -H -c 40 -r 40 -i 1 -l 6 -x 8 -p 2 \
        -u "http://127.0.0.1:$PORT/" > "$log" 2>&1 &
    slow=$!
    sleep 1.5
    code=$(ip netns exec "$NS" curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")
    check_eq slowloris_others_served "$code" 200
    wait "$slow"
    to=$(field "$(status_json)" "d['closed']['timeout']")
    if [ "${to:-0}" -ge 40 ]; then pass slowloris_cut_by_header_timeout
    else fail slowloris_cut_by_header_timeout "timeout closes=$to (want >= 40)"; fi
    # Slow body (R-U-Dead-Yet): heads complete, bodies trickle.
    before=${to:-0}
    # client_body_timeout is between two reads (as in nginx): a trickle
    # every 4 s outlasts the 2 s timeout.
    ip netns exec "$NS" slowhttptest -B -c 40 -r 40 -i 4 -l 7 -s 8192 -x 8 -p 2 \
        -u "http://127.0.0.1:$PORT/" > "$log" 2>&1 &
    slow=$!
    sleep 1.5
    code=$(ip netns exec "$NS" curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")
    check_eq slowbody_others_served "$code" 200
    wait "$slow"
    to=$(field "$(status_json)" "d['closed']['timeout']")
    if [ $(( ${to:-0} - before )) -ge 40 ]; then pass slowbody_cut_by_body_timeout
    else fail slowbody_cut_by_body_timeout "timeout closes went $before -> $to (want +40)"; fi
    rm -f "$log"
else
    fail slowhttptest_present "slowhttptest not installed (scripts/deps.sh)"
fi
