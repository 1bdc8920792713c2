#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer trace's refusals: each a clear message and exit 2, nothing left
# behind (no tracefs mount on the host, no stray process).
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d)
mounts_before=$(grep -c tracefs /proc/mounts)

# expect NAME WANT_RC PATTERN CMD...
expect() {
    local name=$1 want=$2 pat=$3; shift 3
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" = "$want" ] && grep -q -- "$pat" <<<"$out"; then pass "$name"
    else fail "$name" "rc=$rc out=$(head -c 300 <<<"$out")"; fi
}

expect "no privilege: names root/CAP_PERFMON" 2 "CAP_PERFMON" \
    setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all "$CLOSER" trace -d 1
# CAP_PERFMON without CAP_SYS_ADMIN: perf is allowed, mounting is not. Only
# meaningful while the host has no tracefs mounted (this one has none).
if ! grep -q tracefs /proc/mounts; then
    expect "tracefs absent and not mountable: says how" 2 "mount -t tracefs nodev /sys/kernel/tracing" \
        setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$CLOSER" trace -d 1
fi
mkdir -p "$tmp/empty/events"
expect "a tracepoint this kernel lacks" 2 "lacks the tracepoint sock:inet_sock_set_state" \
    "$CLOSER" trace --tracefs "$tmp/empty" -d 1
expect "unknown namespace" 2 "network namespace 'closer-no-such-ns'" "$CLOSER" trace -N closer-no-such-ns -d 1
expect "-N a file that is no namespace" 2 "not a namespace file" "$CLOSER" trace -N /etc/hostname -d 1
expect "-N another kind of namespace" 2 "not a network namespace" "$CLOSER" trace -N /proc/self/ns/mnt -d 1
expect "-N a pid that does not exist" 2 "pid:999999999" "$CLOSER" trace -N pid:999999999 -d 1
expect "-N with --all-netns" 2 "exclude" "$CLOSER" trace -N x --all-netns -d 1
expect "zero duration" 2 "bad value for --duration" "$CLOSER" trace -d 0
expect "junk duration" 2 "bad value for --summary" "$CLOSER" trace --summary 5parsecs
expect "port 0" 2 "bad value for --port" "$CLOSER" trace --port 0 -d 1
expect "port 70000" 2 "bad value for --port" "$CLOSER" trace --port 70000 -d 1
expect "pid junk" 2 "bad value for --pid" "$CLOSER" trace --pid -5 -d 1
expect "buffer too small" 2 "bad value for --buffer" "$CLOSER" trace --buffer 1 -d 1
expect "backend junk" 2 "bad value for --backend" "$CLOSER" trace --backend nope -d 1
# Without CAP_BPF and CAP_SYS_ADMIN (CAP_PERFMON kept; tracefs mounted for it):
# --backend bpf refuses and says what is missing, auto falls back to perf
# sampling and says so.
mkdir -p "$tmp/tfs" && mount -t tracefs nodev "$tmp/tfs"
NOBPF=(setpriv --bounding-set=-bpf,-sys_admin --inh-caps=-bpf,-sys_admin)
expect "--backend bpf without CAP_BPF: refused, says why" 2 "CAP_BPF" \
    "${NOBPF[@]}" "$CLOSER" trace --tracefs "$tmp/tfs" --backend bpf -d 1
expect "auto without CAP_BPF: perf sampling, said on stderr" 0 "perf sampling instead" \
    "${NOBPF[@]}" "$CLOSER" trace --tracefs "$tmp/tfs" -d 300ms
expect "auto without CAP_BPF: the summary names the backend" 0 "backend: perf" \
    "${NOBPF[@]}" "$CLOSER" trace --tracefs "$tmp/tfs" -d 300ms
umount "$tmp/tfs"
expect "stray argument" 2 "unexpected argument" "$CLOSER" trace extra
expect "unknown option" 2 "" "$CLOSER" trace --nope
expect "help" 0 "usage: closer trace" "$CLOSER" trace --help
# A bounded run with nothing to see ends by itself with a summary.
netns_new NS
expect "bounded run in an idle namespace" 0 "closed connections in" in_ns "$NS" "$CLOSER" trace -d 300ms
# -N of an empty namespace reports nothing, not even a CLOSE_WAIT socket of
# another namespace whose record no process touched (namespace unknown):
# it said 1 (issue 22).
netns_new NS2
ip netns exec "$NS2" /usr/bin/python3 -c '
import socket, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", 9100)); srv.listen(1)
c = socket.create_connection(("127.0.0.1", 9100)); a, _ = srv.accept()
open(sys.argv[1], "w").write("x")
time.sleep(0.8); c.close(); time.sleep(1.5)
' "$tmp/cw.ready" &
CWP=$!
wait_for 5 test -e "$tmp/cw.ready" || fail "CLOSE_WAIT maker ready"
out=$("$CLOSER" trace -N "$NS" --json -d 1500ms 2>&1)
wait $CWP
check "-N an empty namespace: 0 closes, 0 still in CLOSE_WAIT" \
    grep -q '"closes":0,.*"close_wait_open":0' <<<"$out"
# No spin: a tracer whose kernel filter passes nothing (a port no one uses)
# stays asleep; CPU ticks over 2 s, not a timing of closer's speed.
"$CLOSER" trace --port 1 -d 3s >/dev/null 2>&1 &
TR=$!
sleep 0.5
t0=$(awk '{print $14 + $15}' /proc/$TR/stat)
sleep 2
t1=$(awk '{print $14 + $15}' /proc/$TR/stat)
wait $TR
check "idle tracer does not spin ($((t1 - t0)) ticks in 2 s)" test $((t1 - t0)) -le 10
check_eq "tracefs mounts on the host unchanged" "$(grep -c tracefs /proc/mounts)" "$mounts_before"
rm -rf "$tmp"
