#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer serve's closing behaviour, checked from the outside: a raw-socket
# client (tests/lib/rawhttp.py) and curl as referees, closer's own socket
# table for which side holds TIME_WAIT, the server's cause counters.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # serve run as root becomes nobody: --root must be searchable
RAW="python3 $(dirname "$0")/../lib/rawhttp.py"
PORT=8080

# serve NAME ARGS...: a fresh namespace running closer serve; sets NS.
serve() {
    local name=$1; shift
    netns_new NS
    bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --workers 1 --status /status "$@"
    wait_listen "$NS" $PORT || { fail "$name" "server did not start"; return 1; }
}
raw() { ip netns exec "$NS" $RAW 127.0.0.1 $PORT "$@"; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1" 2>/dev/null; }
status_json() { ip netns exec "$NS" curl -s "http://127.0.0.1:$PORT/status.json"; }
closed() { field "$(status_json)" "d['closed']['$1']"; }
# TIME_WAIT on the server's listening port / on the client's side.
tw_server() { ip netns exec "$NS" "$CLOSER" states -H --state time-wait --sport $PORT | wc -l; }
tw_client() { ip netns exec "$NS" "$CLOSER" states -H --state time-wait --dport $PORT | wc -l; }

# 1. Persistence matrix: HTTP/1.1 keeps alive; Connection: close ends it;
#    HTTP/1.0 only with Connection: keep-alive (answered with Keep-Alive).
serve matrix --return 200 ok
r=$(raw --requests 3 --wait 0.5)
check_eq http11_keepalive "$(field "$r" "d['responses'], d['connection'], d['ended']")" "3 ['keep-alive', 'keep-alive', 'keep-alive'] open"
r=$(raw --requests 2 --close-header)
check_eq http11_close "$(field "$r" "d['responses'], d['connection'][-1], d['ended']")" "2 close server-fin"
r=$(raw --http10 --requests 1)
check_eq http10_no_keepalive "$(field "$r" "d['connection'][0], d['ended']")" "close server-fin"
r=$(raw --http10 --keepalive-header --requests 2 --wait 0.5)
check_eq http10_keepalive "$(field "$r" "d['responses'], d['connection'][0], d['keep_alive'][0], d['ended']")" "2 keep-alive timeout=75 open"
# Where the server closed first (close header, HTTP/1.0) the TIME_WAIT is
# the server's; the two keep-alive runs ended by the client closing put
# theirs on the client. (Checked before asking /status: curl's own
# connections close client-first.)
check_eq server_closed_first_tw "$(tw_server)" 2
check_eq client_closed_first_tw "$(tw_client)" 2
check_eq cause_client_asked "$(closed client_asked_close)" 1
check_eq cause_http10 "$(closed http10)" 1

# 2. Pipelining: answered in order, the last one closes.
r=$(raw --requests 5 --pipeline --close-header)
check_eq pipelined "$(field "$r" "d['responses'], d['statuses'], d['connection'][-1]")" "5 [200, 200, 200, 200, 200] close"

# 3. Request cap: keepalive_requests 3 -> the 3rd response says close and
#    the server closes (cause request_cap, TIME_WAIT on the server).
serve cap --return 200 ok --keepalive-requests 3
r=$(raw --requests 5)
check_eq request_cap "$(field "$r" "d['responses'], d['connection'], d['ended']")" "3 ['keep-alive', 'keep-alive', 'close'] server-fin"
check_eq request_cap_tw_server "$(tw_server)" 1
check_eq cause_request_cap "$(closed request_cap)" 1

# 4. Idle timeout: the server's FIN after ~keepalive_timeout.
serve idle --return 200 ok --keepalive-timeout 1s
r=$(raw --requests 1 --wait 4)
check_eq idle_timeout_closes "$(field "$r" "d['ended']")" server-fin
check idle_timeout_timed python3 -c "import sys; t=$(field "$r" "d['fin_after_s']"); sys.exit(not 0.8 <= t <= 2.5)"
check_eq idle_tw_server "$(tw_server)" 1
check_eq cause_idle "$(closed idle_timeout)" 1

# 5. Keep-alive off: every response closes (cause keepalive_off).
serve kaoff --return 200 ok --keepalive off
r=$(raw --requests 2)
check_eq keepalive_off "$(field "$r" "d['responses'], d['connection'][0], d['ended']")" "1 close server-fin"
check_eq cause_keepalive_off "$(closed keepalive_off)" 1

# 6. Close policy client: Connection: close announced, the client's FIN
#    comes first, TIME_WAIT on the client side.
serve policy --return 200 ok --keepalive off --close-policy client --lingering-time 5s
for i in 1 2 3; do ip netns exec "$NS" curl -s -o /dev/null "http://127.0.0.1:$PORT/"; done
sleep 0.3
check_eq policy_client_tw_on_client "$(tw_client)" 3
check_eq policy_client_no_server_tw "$(tw_server)" 0

# 7. Linger zero: RST, no TIME_WAIT anywhere.
serve lz --return 200 ok --keepalive off --linger-zero
r=$(raw --requests 1)
check_eq linger_zero_reset "$(field "$r" "d['responses'], d['ended']")" "1 reset"
check_eq linger_zero_no_tw "$(( $(tw_server) + $(tw_client) ))" 0

# 8. Lingering close keeps the response when unread input follows: an
#    error response followed by garbage still arrives whole.
serve lingering --return 200 ok
r=$(raw --requests 1 --close-header --extra "$(printf 'X%.0s' $(seq 1 3000))")
check_eq lingering_close_response_intact "$(field "$r" "d['responses'], d['statuses'][0]")" "1 200"
check_eq lingering_close_fin_not_rst "$(field "$r" "d['ended']")" server-fin

# 9. Strict parsing: a smuggling vector is a 400 and a close.
r=$(ip netns exec "$NS" python3 -c "
import socket; s=socket.create_connection(('127.0.0.1',$PORT))
s.sendall(b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
d=b''
while True:
    x=s.recv(4096)
    if not x: break
    d+=x
print(d.split(b'\r\n')[0].decode(), b'Connection: close' in d)")
check_eq smuggling_400_close "$r" "HTTP/1.1 400 Bad Request True"

# 10. Graceful stop with a request in flight: the response arrives, exit 0.
serve graceful --return 200 ok
ip netns exec "$NS" python3 -c "
import socket,time,subprocess
s=socket.create_connection(('127.0.0.1',$PORT))
s.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n')   # head not finished yet
time.sleep(0.2)
subprocess.run(['kill','-TERM','$SPID'])
time.sleep(0.2)
s.sendall(b'\r\n')
d=b''
while True:
    x=s.recv(4096)
    if not x: break
    d+=x
print(d.split(b'\r\n')[0].decode(), b'Connection: close' in d)" > "$tmp/graceful"
check_eq graceful_inflight_answered "$(cat "$tmp/graceful")" "HTTP/1.1 200 OK True"
wait "$SPID"; check_eq graceful_exit_zero $? 0

# 11. Static files: content, 404, HEAD, 304, no escape from the root.
mkdir -p "$tmp/www/sub" && echo "<h1>hi</h1>" > "$tmp/www/index.html" && echo secret > "$tmp/outside.txt"
ln -s "$tmp/outside.txt" "$tmp/www/link.txt"
serve files --root "$tmp/www"
u="http://127.0.0.1:$PORT"
check_eq file_index "$(ip netns exec "$NS" curl -s "$u/")" "<h1>hi</h1>"
check_eq file_type "$(ip netns exec "$NS" curl -s -o /dev/null -w '%{content_type}' "$u/index.html")" "text/html"
check_eq file_404 "$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' "$u/nope")" 404
check_eq file_dotdot "$(ip netns exec "$NS" curl -s --path-as-is -o /dev/null -w '%{http_code}' "$u/../outside.txt")" 403
check_eq file_encoded_dots "$(ip netns exec "$NS" curl -s --path-as-is -o /dev/null -w '%{http_code}' "$u/%2e%2e/outside.txt")" 403
check_eq file_symlink_out "$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' "$u/link.txt")" 403
lm=$(ip netns exec "$NS" curl -sI "$u/index.html" | tr -d '\r' | sed -n 's/^Last-Modified: //p')
check_eq file_304 "$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$u/index.html")" 304
check_eq file_head "$(ip netns exec "$NS" curl -sI "$u/index.html" | tr -d '\r' | grep -c '^Content-Length: 12$')" 1
# Absolute-form target (RFC 9112 3.2.2): the path part is served.
check_eq file_absolute_form "$(ip netns exec "$NS" curl -s --request-target "http://x/index.html" "$u/")" "<h1>hi</h1>"

# 12. Bad usage exits 2.
"$CLOSER" serve --listen 127.0.0.1:1 2>/dev/null; check_eq serve_needs_content $? 2
"$CLOSER" serve --return 200 x 2>/dev/null; check_eq serve_needs_listen $? 2
"$CLOSER" serve --listen nowhere --return 200 x 2>/dev/null; check_eq serve_bad_listen $? 2
"$CLOSER" serve --listen 127.0.0.1:1 --return 200 x --keepalive-timeout 5x 2>/dev/null; check_eq serve_bad_duration $? 2

# 13. A server-closed connection's last response leaves with the FIN in the
#     same segment (MSG_MORE, then close): counted by nft on the wire, as
#     segments from the server with FIN set and payload. A client-policy
#     close (the server waits for the client's FIN) must not hold data back:
#     its response segments carry no FIN.
fin_with_data() {
    ip netns exec "$NS" nft -f - <<'NFT'
table inet wire {
    chain out {
        type filter hook output priority 0;
        tcp sport 8080 tcp flags & fin == fin ip length > 52 counter
    }
}
NFT
    for _ in 1 2 3 4 5; do raw --requests 1 "$@" >/dev/null; done
    ip netns exec "$NS" nft list table inet wire | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
serve finseg --return 200 ok
check_eq last_response_carries_fin "$(fin_with_data --close-header)" 5
serve finseg_client --return 200 ok --close-policy client
check_eq client_policy_response_not_held "$(fin_with_data --close-header --client-close)" 0

# 14. --config FILE: the options as nginx-style directives, read first (the
#     command line overrides them); errors name the file and line, exit 2.
cat > "$tmp/serve.conf" <<CONF
# closer serve, request cap 3
keepalive_requests 3;   keepalive_timeout 5s;
return 200 "from config";
lingering_close always;
reset_timedout_connection on;
CONF
serve config --config "$tmp/serve.conf"
r=$(raw --requests 5)
check_eq config_request_cap "$(field "$r" "d['responses'], d['connection'], d['ended']")" "3 ['keep-alive', 'keep-alive', 'close'] server-fin"
check_eq config_return_body "$(ip netns exec "$NS" curl -s "http://127.0.0.1:$PORT/")" "from config"
serve config_override --config "$tmp/serve.conf" --keepalive-requests 2 --return 201 cli
r=$(raw --requests 5)
check_eq config_cli_overrides "$(field "$r" "d['responses'], d['statuses'], d['connection'][-1]")" "2 [201, 201] close"
printf 'keepalive_requests 3;\nkeepalive_timeout 5x;\n' > "$tmp/bad.conf"
msg=$("$CLOSER" serve --config "$tmp/bad.conf" --listen 127.0.0.1:1 --return 200 x 2>&1); rc=$?
check_eq config_bad_value_exit "$rc" 2
check config_bad_value_names_line grep -q "bad.conf:2: in directive 'keepalive_timeout'" <<<"$msg"
printf 'listen 127.0.0.1:1;\nreturn 200 x;\nno_such_knob on;\n' > "$tmp/bad.conf"
msg=$("$CLOSER" serve --config "$tmp/bad.conf" 2>&1); rc=$?
check_eq config_unknown_directive "$rc $(grep -c "bad.conf:3: unknown directive 'no_such_knob'" <<<"$msg")" "2 1"
"$CLOSER" serve --config "$tmp/missing.conf" 2>/dev/null; check_eq config_missing_file $? 2
"$CLOSER" serve --listen 127.0.0.1:1 --return 200 x --linger-zero=maybe 2>/dev/null; check_eq flag_bad_value_exit $? 2
# "linger_zero off;" after "on" turns it off again: the cap close is a FIN
# (TIME_WAIT on the server), not a RST.
printf 'return 200 x;\nkeepalive_requests 1;\nlinger_zero on;\nlinger_zero off;\n' > "$tmp/flags.conf"
serve config_flag_off --config "$tmp/flags.conf"
r=$(raw --requests 1)
check_eq config_flag_off_fin "$(field "$r" "d['ended']") $(tw_server)" "server-fin 1"
