#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer doctor --trace: measured who-closes and close latency become
# findings. A Python server that sits 2 s in CLOSE_WAIT before close() must
# come out as trace-slow-close with its pid; serve --linger-zero as
# trace-resets; closer load closing first as trace-who-closes.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PY=/usr/bin/python3
tmp=$(mktemp -d)
netns_new NS
bg LZ ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8081 -w 1 --return 200 ok --linger-zero
bg SRV ip netns exec "$NS" "$CLOSER" serve -l 127.0.0.1:8080 -w 1 --return 200 ok
cat >"$tmp/cw.py" <<'PYEOF'
import socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 9000)); srv.listen(8)
open(sys.argv[1], "w").write("ready")
c = srv.accept()[0]
while c.recv(100):
    pass
time.sleep(2)
c.close()
time.sleep(1)
PYEOF
bg CW ip netns exec "$NS" $PY "$tmp/cw.py" "$tmp/ready"
wait_listen "$NS" 8080; wait_listen "$NS" 8081
wait_for 5 test -e "$tmp/ready" || fail "cw.py ready"
"$CLOSER" doctor -N "$NS" --trace 4s --json >"$tmp/doc.json" 2>"$tmp/doc.err" &
DOC=$!
sleep 1   # the tracer is open well within a second; doctor has 4 s
ip netns exec "$NS" $PY -c 'import socket; s = socket.create_connection(("127.0.0.1", 9000)); s.sendall(b"x"); s.close()'
ip netns exec "$NS" "$CLOSER" load http://127.0.0.1:8081/ -n 10 -c 1 --close-header >/dev/null 2>&1
ip netns exec "$NS" "$CLOSER" load http://127.0.0.1:8080/ -n 20 -c 1 --keepalive off >/dev/null &
LOAD=$!
wait $LOAD
wait $DOC
check_eq "doctor exits 1 (warnings)" "$?" 1
$PY - "$tmp/doc.json" "$CW" "$LZ" "$LOAD" "$SRV" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
CW, LZ, LOAD, SRV = map(int, sys.argv[2:])
F = d["findings"]
def check(name, ok, why=""):
    print("PASS " + name if ok else "FAIL %s: %s" % (name, why))
slow = [f for f in F if f["id"] == "trace-slow-close"]
check("trace-slow-close names the python program", len(slow) == 1 and slow[0]["pid"] == CW and slow[0]["port"] == 9000, [(f["pid"], f["port"]) for f in slow])
check("trace-slow-close: p99 2..4 s", slow and 2000 <= slow[0]["facts"]["close_after_fin_p99_ms"] <= 4000, slow and slow[0]["facts"])
rs = [f for f in F if f["id"] == "trace-resets" and f["pid"] == LZ]
check("trace-resets: serve --linger-zero, 10 resets", len(rs) == 1 and rs[0]["count"] == 10 and rs[0]["port"] == 8081, [(f["pid"], f["count"]) for f in rs])
who = [f for f in F if f["id"] == "trace-who-closes" and f["pid"] == LOAD]
check("trace-who-closes: closer load closed 20 first", len(who) == 1 and who[0]["facts"]["local_first"] == 20 and who[0]["port"] == 8080, [(f["pid"], f["facts"]) for f in who])
srv = [f for f in F if f["id"] == "trace-who-closes" and f["pid"] == SRV]
check("trace-who-closes: serve saw 20 peer-first closes", len(srv) == 1 and srv[0]["facts"]["peer_first"] == 20, [f["facts"] for f in srv])
sev = [f["severity"] for f in F]
check("findings ordered worst first", sev == sorted(sev, key=lambda s: {"critical": 0, "warning": 1, "info": 2}[s]), sev)
PYEOF
expect_rc=$("$CLOSER" doctor --trace 0 >/dev/null 2>&1; echo $?)
check_eq "doctor --trace 0 refused" "$expect_rc" 2
rm -rf "$tmp"

# nginx answering `Connection: close` requests closes each connection first,
# ~300 us after its SYN: nothing is ESTABLISHED when the snapshot looks, so
# only the trace's lifetimes and who closed can name the cause (issue 23).
if command -v nginx >/dev/null; then
    . "$(dirname "$0")/../lib/nginx.sh"
    tmp=$(mktemp -d)
    netns_new NG
    nginx_start "$NG" 8080 "$tmp/ng" ""
    "$CLOSER" doctor -N "$NG" --trace 3s --json >"$tmp/ng.json" 2>"$tmp/ng.err" &
    DOC=$!
    sleep 1
    ip netns exec "$NG" "$CLOSER" load http://127.0.0.1:8080/ -n 200 -c 2 --close-header >/dev/null 2>&1
    wait $DOC
    $PY - "$tmp/ng.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
tw = [f for f in d["findings"] if f["id"] == "server-time-wait" and f["port"] == 8080]
def check(name, ok, why=""):
    print("PASS " + name if ok else "FAIL %s: %s" % (name, why))
f = tw[0] if tw else {"facts": {}, "why": "", "title": "", "cause": None}
check("nginx Connection: close: server-time-wait found", len(tw) == 1, [x["id"] for x in d["findings"]])
check("nginx Connection: close: cause no keep-alive from the trace",
      f.get("cause") == "no keep-alive" and f["facts"].get("cause_from_trace") == 1, (f.get("cause"), f["facts"]))
check("nginx Connection: close: title and why say it",
      "cause: no keep-alive" in f["title"] and "measured by the trace" in f["why"], (f["title"], f["why"][-400:]))
# the closes the trace saw the server make first are the TIME_WAIT ss counts
check("nginx Connection: close: server-first closes traced = TIME_WAIT",
      f["facts"].get("traced_server_first") == f.get("count") and f.get("count", 0) >= 190, (f.get("count"), f["facts"]))
PYEOF
    rm -rf "$tmp"
fi
