#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CLOSE_WAIT from real programs nobody on this project wrote, each in a
# private namespace: an asyncio server that never closes, a
# ThreadingHTTPServer blocked in its handler, a requests.Session pool idling
# past nginx's keepalive_timeout, Node allowHalfOpen servers (net and http), a Node
# http.Agent pool (which closes at the server's FIN: doctor must stay
# quiet), and an asyncio server that closes late (--confirm: transient).
# Each asserts the finding id, pid/comm, runtime, peer and the fix's knob;
# ss is the referee for the counts.
#   RECORD_DIR=tests/data bash tests/integration/doctor_real_closewait.sh
# also saves each case's dump (doctor --record) for the unit tests.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
LIB=$(cd "$(dirname "$0")/../lib/closewait" && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT

cw_count() { ip netns exec "$1" ss -Htan state close-wait "${2:-}" | wc -l; }
# doctor_json NAME NS [ARGS]: doctor --json into $tmp/NAME.json (recorded
# to $RECORD_DIR/closewait_NAME.diag when RECORD_DIR is set).
doctor_json() {
    local name=$1 ns=$2; shift 2
    local rec=()
    [ -n "${RECORD_DIR:-}" ] && rec=(--record "$RECORD_DIR/closewait_$name.diag")
    ip netns exec "$ns" "$CLOSER" doctor --json --confirm 0.3s "${rec[@]}" "$@" > "$tmp/$name.json"
}
# field NAME ID EXPR: EXPR over the first finding f with ID ("none" if absent).
field() {
    json_get "$tmp/$1.json" "(lambda f: $3)(next(f for f in d['findings'] if f['id']=='$2')) if any(f['id']=='$2' for f in d['findings']) else 'none'"
}
field_has() { [[ "$(field "$1" "$2" "f.get('$3', '')")" == *"$4"* ]] || { echo "  $1 $3: $(field "$1" "$2" "f.get('$3', '')")"; return 1; }; }
field_lacks() { [[ "$(field "$1" "$2" "f.get('$3', '')")" != *"$4"* ]]; }
cw_ids() { json_get "$tmp/$1.json" "sorted(set(f['id'] for f in d['findings'] if f['id'].startswith('close-wait')))"; }
# curls NS PORT N [MAXTIME]: N clients, in parallel, each one request.
curls() {
    local i pids=()
    for ((i = 0; i < $3; i++)); do
        ip netns exec "$1" curl -s -o /dev/null -m "${4:-3}" "http://127.0.0.1:$2/" &
        pids+=($!)
    done
    wait "${pids[@]}"
}

# 1. asyncio: the handler returns after EOF without writer.close().
netns_new NS
bg SRV ip netns exec "$NS" "$PY" "$LIB/asyncio_server.py" 8001
if wait_listen "$NS" 8001; then
    curls "$NS" 8001 3
    wait_num 5 -ge 3 cw_count "$NS"
    doctor_json asyncio "$NS"
    pid=$(ip netns exec "$NS" ss -Htlnp 'sport = :8001' | grep -o 'pid=[0-9]*' | cut -d= -f2)
    check_eq asyncio_ss "$(cw_count "$NS")" 3
    check_eq asyncio_class "$(cw_ids asyncio)" "['close-wait-not-closed']"
    check_eq asyncio_who "$(field asyncio close-wait-not-closed "(f['count'], f['port'], f['pid'], f['comm'], f['program'], f['runtime'], f['recv_q'])")" "(3, 8001, $pid, 'python3', 'python-asyncio', 'python', 0)"
    check asyncio_peers field_has asyncio close-wait-not-closed peers "127.0.0.1:"
    check asyncio_far_end field_has asyncio close-wait-not-closed peer_on_host "in FIN_WAIT2"
    check asyncio_fix field_has asyncio close-wait-not-closed fix "writer.close()"
    check asyncio_no_epoll_advice field_lacks asyncio close-wait-not-closed fix "epoll_ctl"
    check asyncio_age test "$(field asyncio close-wait-not-closed "f['facts']['age_max_s'] < 60")" = True
    # Not root: the server is hidden, it is named, and only processes of
    # this namespace are counted (the host has hundreds more), with what is
    # missing.
    ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "$CLOSER" doctor --json --confirm 0 > "$tmp/nobody.json"
    ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "$CLOSER" doctor --confirm 0 > "$tmp/nobody.txt"
    check_eq asyncio_nobody_hidden "$(json_get "$tmp/nobody.json" "(0 < d['processes_not_visible'] < 5, [f['id'] for f in d['findings'] if f['id'].startswith('close-wait')])")" "(True, ['close-wait-owner-hidden'])"
    check asyncio_nobody_names_server grep -q "not visible: .*pid $pid python3" "$tmp/nobody.txt"
    check asyncio_nobody_reason grep -q "lacks CAP_SYS_PTRACE" "$tmp/nobody.txt"
else
    fail asyncio_listen "asyncio_server.py did not listen"
fi

# 2. ThreadingHTTPServer: each handler thread sleeps; the clients time out.
netns_new NS
bg SRV ip netns exec "$NS" "$PY" "$LIB/threading_server.py" 8002
if wait_listen "$NS" 8002; then
    curls "$NS" 8002 3 1
    wait_num 5 -ge 3 cw_count "$NS"
    doctor_json threading "$NS"
    pid=$(ip netns exec "$NS" ss -Htlnp 'sport = :8002' | grep -o 'pid=[0-9]*' | cut -d= -f2)
    check_eq threading_class "$(cw_ids threading)" "['close-wait-blocked-thread']"
    check_eq threading_who "$(field threading close-wait-blocked-thread "(f['count'], f['port'], f['pid'], f['comm'], f['runtime'], f['recv_q'], f['facts']['process_epoll_instances'])")" "(3, 8002, $pid, 'python3', 'python', 3, 0)"
    # 3 handler threads asleep plus the serve_forever thread in poll
    check_eq threading_threads "$(field threading close-wait-blocked-thread "f['facts']['process_threads']")" 4
    check threading_wchan field_has threading close-wait-blocked-thread why "3 in sleep (hrtimer_nanosleep)"
    check threading_fix field_has threading close-wait-blocked-thread fix "StreamRequestHandler.timeout"
    check threading_peers field_has threading close-wait-blocked-thread peers "127.0.0.1:"
else
    fail threading_listen "threading_server.py did not listen"
fi

# 3. requests.Session pool against nginx with keepalive_timeout 1s: the
#    server closes the idle connections, urllib3 does not look until the
#    next checkout.
netns_new NS
if nginx_start "$NS" 8080 "$tmp/nginx" "keepalive_timeout 1s;"; then
    bg CLI ip netns exec "$NS" "$PY" "$LIB/requests_pool.py" http://127.0.0.1:8080/ 4 > "$tmp/req.out"
    wait_for 10 grep -q ready "$tmp/req.out"
    wait_num 5 -ge 4 cw_count "$NS"
    doctor_json requests "$NS"
    cpid=$(ip netns exec "$NS" ss -Htanp state close-wait | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
    check_eq requests_ss "$(cw_count "$NS")" 4
    check_eq requests_class "$(cw_ids requests)" "['close-wait-client-pool']"
    check_eq requests_who "$(field requests close-wait-client-pool "(f['count'], f['port'], f['pid'], f['comm'], f['program'], f['runtime'], f['dest'], f['severity'], f['protocol'], f.get('peer_program'))")" "(4, None, $cpid, 'python3', 'requests', 'python', '127.0.0.1:8080', 'info', 'http', 'nginx')"
    # the server's keep-alive timeout, seen from the client's tcp_info
    check_eq requests_idle "$(field requests close-wait-client-pool "round(f['facts']['idle_before_fin_max_s'])")" 1
    check requests_fix field_has requests close-wait-client-pool fix "pool_maxsize"
    check requests_far_end field_has requests close-wait-client-pool peer_on_host "served by pid $NGINX_PID, nginx"
    check requests_exit test "$(json_get "$tmp/requests.json" "d['exit_code']")" = 0
else
    fail requests_nginx "nginx did not start"
fi

# 4. Node net server with allowHalfOpen: libuv reads the EOF, nobody ends.
netns_new NS
bg SRV ip netns exec "$NS" node "$LIB/node_halfopen.js" 8004
if wait_listen "$NS" 8004; then
    curls "$NS" 8004 3
    wait_num 5 -ge 3 cw_count "$NS"
    doctor_json node_halfopen "$NS"
    pid=$(ip netns exec "$NS" ss -Htlnp 'sport = :8004' | grep -o 'pid=[0-9]*' | cut -d= -f2)
    check_eq node_halfopen_class "$(cw_ids node_halfopen)" "['close-wait-not-closed']"
    check_eq node_halfopen_who "$(field node_halfopen close-wait-not-closed "(f['count'], f['port'], f['pid'], f['comm'], f['runtime'], f['recv_q'])")" "(3, 8004, $pid, 'node', 'node', 0)"
    check node_halfopen_fix field_has node_halfopen close-wait-not-closed fix "socket.end()"
    check node_halfopen_knob field_has node_halfopen close-wait-not-closed fix "allowHalfOpen"
else
    fail node_halfopen_listen "node_halfopen.js did not listen"
fi

# 4b. Node http server with httpAllowHalfOpen and a handler that never
#     ends its response: the clients time out and leave.
netns_new NS
bg SRV ip netns exec "$NS" node "$LIB/node_http_halfopen.js" 8005
if wait_listen "$NS" 8005; then
    curls "$NS" 8005 2 1
    wait_num 5 -ge 2 cw_count "$NS"
    doctor_json node_http "$NS"
    pid=$(ip netns exec "$NS" ss -Htlnp 'sport = :8005' | grep -o 'pid=[0-9]*' | cut -d= -f2)
    check_eq node_http_class "$(cw_ids node_http)" "['close-wait-not-closed']"
    check_eq node_http_who "$(field node_http close-wait-not-closed "(f['count'], f['port'], f['pid'], f['comm'], f['runtime'])")" "(2, 8005, $pid, 'node', 'node')"
    check node_http_fix field_has node_http close-wait-not-closed fix "res.end()"
else
    fail node_http_listen "node_http_halfopen.js did not listen"
fi

# 5. Node http.Agent keepAlive pool against nginx keepalive_timeout 1s:
#    Node reads a free socket's FIN and closes it, so no CLOSE_WAIT is left
#    and doctor must not invent a client-pool finding.
netns_new NS
if nginx_start "$NS" 8080 "$tmp/nginx2" "keepalive_timeout 1s;"; then
    bg CLI ip netns exec "$NS" node "$LIB/node_agent.js" http://127.0.0.1:8080/ 3 > "$tmp/agent.out"
    wait_for 10 grep -q ready "$tmp/agent.out"
    sleep 2 # past the server's keep-alive timeout
    doctor_json node_agent "$NS"
    check_eq node_agent_ss "$(cw_count "$NS")" 0
    check_eq node_agent_quiet "$(cw_ids node_agent)" "[]"
    # nginx closed first: the TIME_WAIT sit on its port
    check_eq node_agent_server_closed "$(ip netns exec "$NS" ss -Htan state time-wait 'sport = :8080' | wc -l)" 3
else
    fail node_agent_nginx "nginx did not start"
fi

# 6. --confirm: an asyncio server that closes 2 s after the EOF. The
#    CLOSE_WAIT are there at the first look and gone at the second (4 s on).
netns_new NS
bg SRV ip netns exec "$NS" "$PY" "$LIB/asyncio_server.py" 8006 2
if wait_listen "$NS" 8006; then
    curls "$NS" 8006 3
    wait_num 2 -ge 3 cw_count "$NS" 'sport = :8006'
    ip netns exec "$NS" "$CLOSER" doctor --json --confirm 4s > "$tmp/late.json"
    check_eq late_transient "$(json_get "$tmp/late.json" "(d['close_wait'].get('transient'), [f['id'] for f in d['findings'] if f['id'].startswith('close-wait')])")" "(3, [])"
    # without the second look the same moment is a finding
    bg SRV2 ip netns exec "$NS" "$PY" "$LIB/asyncio_server.py" 8016 30
    wait_listen "$NS" 8016 && curls "$NS" 8016 2
    wait_num 5 -ge 2 cw_count "$NS" 'sport = :8016'
    ip netns exec "$NS" "$CLOSER" doctor --json --confirm 0 > "$tmp/late0.json"
    check_eq late_no_confirm "$(json_get "$tmp/late0.json" "[(f['count'], f['port']) for f in d['findings'] if f['id'].startswith('close-wait')]")" "[(2, 8016)]"
else
    fail late_listen "asyncio_server.py did not listen"
fi

# Bad values are refused, not guessed.
ip netns exec "$NS" "$CLOSER" doctor --confirm 5parsecs > /dev/null 2>"$tmp/err"
check_eq confirm_bad_value_exit $? 2
check confirm_bad_value_message grep -q -- "--confirm" "$tmp/err"
