#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer trace on the resets that fall between the records, in a private
# namespace traced from the host with -N (the referee is the namespace's
# own TCP counter, OutRsts in /proc/net/snmp: per namespace, so another
# tracer or test on the host cannot move it):
#  - a server closes each accepted connection at once; its socket, orphaned,
#    becomes a FIN_WAIT2 minisock when the client's kernel ACKs the FIN;
#    then the client writes and the minisock answers with a reset
#    (TCP_TIMEWAIT_SOCKET). The reset is the server connection's, after its
#    record went out: counted with it (rst_after_close), and the client's
#    CLOSE, which runs from its socket's backlog at the end of send() in
#    the client's context, names no closer (the client never called close()
#    on a live connection);
#  - three stray ACKs (a raw socket) to a listener: it answers each with a
#    reset; resets of no connection, never a connection record;
#  - a server closes at once and its client closes 1.2 s later: the
#    server's orphan is a FIN_WAIT2 minisock from the client's ACK on
#    (its CLOSE, ~40 ms), and its connection ends with the client's FIN
#    (both ends traced): lifetime >= the client's CLOSE_WAIT;
#  - the tracer's BPF programs carry names (bpftool);
#  - a tracer of all namespaces started before the namespace existed names
#    it (ip netns name) in its records.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PY=/usr/bin/python3
N=5
tmp=$(mktemp -d)
bg TALL "$CLOSER" trace --json --all-netns --port 8081 >"$tmp/all.json" 2>"$tmp/all.err"
wait_for 10 grep -q '"start"' "$tmp/all.json" || fail "tracer of all namespaces started" "$(cat "$tmp/all.err")"
netns_new NS
ip -n "$NS" addr add 10.79.0.1/32 dev lo   # an address of its own: resets with no socket attribute by it

bg T "$CLOSER" trace --json -N "$NS" >"$tmp/t.json" 2>"$tmp/t.err"
wait_for 10 grep -q '"start"' "$tmp/t.json" || fail "tracer started" "$(cat "$tmp/t.err")"
outrsts() { ip netns exec "$NS" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["OutRsts"] }' /proc/net/snmp; }
rst0=$(outrsts)

cat >"$tmp/resets.py" <<'PYEOF'
import socket, sys, time
ADDR, N = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((ADDR, 8081)); srv.listen(16)
cl = []
for _ in range(N):
    c = socket.create_connection((ADDR, 8081)); a, _ = srv.accept(); a.close(); cl.append(c)
def fin_wait2_minisocks():   # /proc/net/tcp shows a minisock's substate: 05
    rows = [l.split() for l in open("/proc/net/tcp").readlines()[1:]]
    return sum(1 for r in rows if r[1].endswith(":1F91") and r[3] == "05")
for _ in range(200):         # the client's kernel ACKs the FIN (maybe delayed)
    if fin_wait2_minisocks() == N:
        break
    time.sleep(0.05)
for c in cl:
    assert c.recv(10) == b""
    try:
        c.sendall(b"data after the server's close")   # the minisock resets it
    except OSError:
        pass
time.sleep(0.2)
for c in cl: c.close()
srv.close()
PYEOF
cat >"$tmp/stray.py" <<'PYEOF'
import random, socket, struct, sys, time
ADDR = sys.argv[1]
lst = socket.socket(); lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((ADDR, 8082)); lst.listen(4)
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(3):           # ACK only, no connection: the listener resets it
    hdr = struct.pack("!HHIIBBHHH", 40000 + i, 8082, random.getrandbits(32), random.getrandbits(32),
                      5 << 4, 0x10, 65535, 0, 0)
    pseudo = socket.inet_aton(ADDR) * 2 + struct.pack("!BBH", 0, 6, len(hdr))
    raw.sendto(hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:], (ADDR, 0))
time.sleep(0.3)
lst.close()                  # the listener's own CLOSE
PYEOF
ip netns exec "$NS" $PY "$tmp/resets.py" 10.79.0.1 $N &
RS=$!
wait $RS || fail "resets.py" "exited $?"
ip netns exec "$NS" $PY "$tmp/stray.py" 10.79.0.1 || fail "stray.py" "exited $?"
rst1=$(outrsts)
ip netns exec "$NS" $PY - 10.79.0.1 <<'PYEOF' &
import socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 8083)); srv.listen(8)
cl = []
for _ in range(3):
    c = socket.create_connection((sys.argv[1], 8083)); a, _ = srv.accept(); a.close(); cl.append(c)
for c in cl:
    assert c.recv(10) == b""    # the server's FIN: CLOSE_WAIT here
time.sleep(1.2)
for c in cl:
    c.close()
time.sleep(0.2)
PYEOF
LATE=$!
wait $LATE || fail "late closer" "exited $?"

if command -v bpftool >/dev/null; then
    names=$(for id in $(grep -h '^prog_id:' /proc/"$T"/fdinfo/* 2>/dev/null | awk '{print $2}'); do
        bpftool prog show id "$id" | awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }'
    done | sort | tr '\n' ' ')
    check_eq "the tracer's BPF programs have names (bpftool prog show)" "$names" \
        "closer_irq_in closer_irq_out closer_rst_recv closer_rst_sent closer_state "
else
    echo "SKIP bpftool missing: program names not checked"
fi
sleep 0.3
kill -INT "$T" "$TALL"
wait "$T" "$TALL"
ino=$(stat -L -c %i "/run/netns/$NS")
names=$($PY -c '
import json, sys
print(sorted(set(str(d.get("netns_name")) for d in map(json.loads, open(sys.argv[1])) if d.get("netns") == int(sys.argv[2]))))
' "$tmp/all.json" "$ino")
check_eq "a namespace made after the trace started is named" "$names" "['$NS']"

$PY - "$tmp/t.json" "$RS" "$N" "$((rst1 - rst0))" <<'PYEOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
recs = [d for d in lines if d["type"] == "close"]
summ = [d for d in lines if d["type"] == "summary"][0]
RS, N, OUTRSTS = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# Another tracer on the host (bpftrace, a second closer) makes the kernel
# skip some of this tracer's programs (one BPF program per CPU at a time):
# counted as its own lost events. Each count may fall short by those, no
# more; with none lost, every count is exact.
LOST = summ["lost_events"]
def check(name, ok, why=""):
    print("PASS " + name if ok else "FAIL %s: %s" % (name, why))
def exact(got, want):
    return want - LOST <= got <= want
srv = [r for r in recs if r["role"] == "accepted" and r["local"] == "10.79.0.1:8081"]
check("server: %d closes, first local, by the server" % N,
      exact(sum(r["first"] == "local" and r.get("pid") == RS for r in srv), N) and len(srv) <= N,
      [(r["first"], r.get("pid")) for r in srv] + ["lost %d" % LOST])
after = summ.get("rst_after_close", {})
check("the minisocks' %d resets counted, TCP_TIMEWAIT_SOCKET" % N,
      exact(after.get("rst_reasons", {}).get("TCP_TIMEWAIT_SOCKET", 0), N) and after.get("count", 0) <= N, (after, LOST))
port = [p for p in summ["ports"] if p["port"] == 8081 and p["role"] == "accepted"]
check("with the server's port: rst_sent %d" % N, len(port) == 1 and exact(port[0]["rst_sent"], N), (port, LOST))
cl = [r for r in recs if r["role"] == "outgoing" and r["peer"] == "10.79.0.1:8081"]
check("client: %d records, reset received, no closer (CLOSE from the backlog)" % N,
      exact(sum(r["rst"] == "received" and r.get("owner_pid") == RS for r in cl), N) and not [r for r in cl if r.get("pid")],
      [(r["rst"], r.get("pid"), r.get("comm")) for r in cl] + ["lost %d" % LOST])
check("stray ACKs: no connection record for the listener",
      not [r for r in recs if r["local"].endswith(":8082") or r["peer"] in ("0.0.0.0:0", "[::]:0")],
      [r for r in recs if r["local"].endswith(":8082")][:2])
ls = [r for r in recs if r["role"] == "accepted" and r["local"] == "10.79.0.1:8083"]
lc = {r["local"]: r for r in recs if r["role"] == "outgoing" and r["peer"] == "10.79.0.1:8083"}
check("minisock: the server's 3 connections live until the client's FIN (>= its CLOSE_WAIT)",
      exact(sum(r["end_state"] == "FIN_WAIT2" and r["time_wait"] == "here" and r["peer"] in lc
                and r["lifetime_us"] >= lc[r["peer"]].get("close_wait_us", 0) >= 1000000 for r in ls), 3),
      [(r["lifetime_us"], r["end_state"], lc.get(r["peer"], {}).get("close_wait_us")) for r in ls] + ["lost %d" % LOST])
nos = summ["rst_no_socket"]
check("stray ACKs: 3 resets of no connection", exact(nos["count"], 3), (nos, LOST))
counted = after.get("count", 0) + nos["count"]
check("referee: the namespace's OutRsts (%d) = resets counted" % OUTRSTS,
      OUTRSTS == N + 3 and exact(counted, OUTRSTS), (OUTRSTS, after.get("count"), nos["count"], LOST))
PYEOF
rm -rf "$tmp"
