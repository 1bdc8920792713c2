#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer serve's request bodies, Expect: 100-continue, size limits and
# --max-connections, judged by Python's http.client and curl.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PORT=8080
serve() {
    netns_new NS
    bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --status /status "$@"
    wait_listen "$NS" $PORT
}
py() { ip netns exec "$NS" python3 -c "$1"; }

# 1. Bodies are read or discarded so the next request on the same
#    connection parses: Content-Length and chunked (http.client's
#    encode_chunked), then a GET, all on one connection.
serve --return 200 ok --workers 1
r=$(py "
import http.client
c = http.client.HTTPConnection('127.0.0.1', $PORT)
out = []
c.request('POST', '/a', body=b'x' * 70000)
r = c.getresponse(); out.append(r.status); r.read()
c.request('POST', '/b', body=iter([b'hello', b'world' * 3000]), encode_chunked=True)
r = c.getresponse(); out.append(r.status); r.read()
c.request('GET', '/c')
r = c.getresponse(); out.append(r.status); out.append(r.read().decode())
print(*out)")
check_eq bodies_then_next_request "$r" "200 200 200 ok"
acc=$(ip netns exec "$NS" curl -s "http://127.0.0.1:$PORT/status.json" | python3 -c "import json,sys; print(json.load(sys.stdin)['accepted'])")
check_eq bodies_one_connection "$acc" 2   # http.client's one + curl's

# 2. Expect: 100-continue: curl waits for the interim response, gets it.
v=$(ip netns exec "$NS" curl -sv -H 'Expect: 100-continue' --expect100-timeout 5 --data-binary 'abc' \
    "http://127.0.0.1:$PORT/" 2>&1)
check_eq expect_100_continue "$(echo "$v" | tr -d '\r' | grep -c '^< HTTP/1.1 100 Continue$')" 1
check_eq expect_then_200 "$(echo "$v" | tr -d '\r' | grep -c '^< HTTP/1.1 200 OK$')" 1
kill "$SPID"; wait "$SPID" 2>/dev/null

# 3. Limits: head too big 431, target too long 414, body too big 413.
serve --return 200 ok --max-body 100
u="http://127.0.0.1:$PORT"
code() { ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' "$@"; }
check_eq limit_header_431 "$(code -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$u/")" 431
check_eq limit_uri_414 "$(code "$u/$(head -c 5000 /dev/zero | tr '\0' a)")" 414
check_eq limit_body_413 "$(code --data-binary "$(head -c 500 /dev/zero | tr '\0' a)" "$u/")" 413
check_eq limit_body_under_ok "$(code --data-binary "$(head -c 50 /dev/zero | tr '\0' a)" "$u/")" 200
kill "$SPID"; wait "$SPID" 2>/dev/null

# 4. --max-connections 2 with 2 workers: a third client waits (its
#    handshake completes in the kernel, nobody answers) while the server
#    sleeps instead of spinning; when one of the two leaves, it is served.
serve --return 200 ok --max-connections 2 --workers 2
cpu() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
r=$(py "
import socket, time
def ka():
    s = socket.create_connection(('127.0.0.1', $PORT))
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'); s.recv(4096); return s
a, b = ka(), ka()
c = socket.create_connection(('127.0.0.1', $PORT))
c.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
c.settimeout(1.0)
try:
    c.recv(4096); waited = 'answered-over-cap'
except socket.timeout:
    waited = 'waited'
a.close()
c.settimeout(5.0)
got = c.recv(4096).split(b'\r\n')[0].decode()
print(waited, got)")
check_eq max_connections_third_waits "$r" "waited HTTP/1.1 200 OK"
# No busy loop at the cap: over 1 s of being at the cap the server uses
# less than a third of a core (a spinning loop would use all of it).
c0=$(cpu)
py "
import socket, time
s = [socket.create_connection(('127.0.0.1', $PORT)) for _ in range(4)]
time.sleep(1)"
c1=$(cpu)
hz=$(getconf CLK_TCK)
if [ $((c1 - c0)) -lt $((hz / 3)) ]; then pass max_connections_no_spin
else fail max_connections_no_spin "$((c1 - c0)) ticks of CPU in 1 s at the cap"; fi
kill "$SPID"; wait "$SPID" 2>/dev/null

# 5. keepalive_time: a connection older than it gets Connection: close on
#    its next response (cause keepalive_time), the server's FIN follows.
serve --return 200 ok --workers 1 --keepalive-time 1s
r=$(ip netns exec "$NS" python3 "$(dirname "$0")/../lib/rawhttp.py" 127.0.0.1 $PORT --requests 3 --idle 0.7)
check_eq keepalive_time_closes "$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['connection'], d['ended'])" "$r")" \
    "['keep-alive', 'keep-alive', 'close'] server-fin"
kt=$(ip netns exec "$NS" curl -s "http://127.0.0.1:$PORT/status.json" | python3 -c "import json,sys; print(json.load(sys.stdin)['closed']['keepalive_time'])")
check_eq cause_keepalive_time "$kt" 1
kill "$SPID"; wait "$SPID" 2>/dev/null

# 6. reset_timedout_connection: a head that never completes is cut by
#    client_header_timeout with an RST (not a FIN).
serve --return 200 ok --workers 1 --client-header-timeout 1s --reset-timedout-connection
r=$(py "
import socket
s = socket.create_connection(('127.0.0.1', $PORT))
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n')
s.settimeout(5)
try:
    print('fin' if s.recv(4096) == b'' else 'data')
except ConnectionResetError:
    print('reset')
except socket.timeout:
    print('open')")
check_eq reset_timedout_connection "$r" reset
kill "$SPID"; wait "$SPID" 2>/dev/null

# 7. A connection that has sent nothing holds no read buffer: 4,000 such
#    connections cost serve's RSS under 600 B each (nginx: 531 B); the
#    8 KB buffer taken at accept made it 4.4 KB. Memory, not time: the
#    count is checked once every connection has been accepted.
tmpd=$(mktemp -d)
netns_new NS
bg SPID ip netns exec "$NS" bash -c "ulimit -n 8192; exec '$CLOSER' serve --listen 127.0.0.1:$PORT \
    --return 200 ok --workers 1"
wait_listen "$NS" $PORT
rss() { awk '/^VmRSS:/ {print $2}' /proc/"$SPID"/status; }
fds() { ls /proc/"$SPID"/fd | wc -l; }
bg HOLD ip netns exec "$NS" /usr/bin/python3 -c "
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
k = [socket.create_connection(('127.0.0.1', $PORT)) for i in range(100)]
open('$tmpd/w1', 'w').close()
while not __import__('os').path.exists('$tmpd/go'): time.sleep(0.05)
k += [socket.create_connection(('127.0.0.1', $PORT)) for i in range(4000)]
open('$tmpd/w2', 'w').close()
time.sleep(120)"
wait_for 20 test -e "$tmpd/w1"; wait_num 20 -ge 100 fds
before=$(rss); f0=$(fds); touch "$tmpd/go"
wait_for 60 test -e "$tmpd/w2"; wait_num 60 -ge $((f0 + 4000)) fds
after=$(rss)
per=$(( (after - before) * 1024 / 4000 ))
echo "# RSS ${before} -> ${after} kB: $per B per connection that sent nothing"
# Under ThreadSanitizer (make tsan) every allocation carries shadow memory:
# bytes per connection mean nothing there, the check is for the real build.
if [ -n "${TSAN_OPTIONS:-}" ]; then
    echo "SKIP idle_connection_under_600B: not measured under ThreadSanitizer ($per B with its shadow memory)"
else
    check idle_connection_under_600B test "$per" -le 600
fi
kill "$HOLD" 2>/dev/null; rm -rf "$tmpd"
