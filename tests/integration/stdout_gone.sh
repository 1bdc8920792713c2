#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every command that prints ends quietly when the reader of its stdout goes
# away: with the same exit status as with a reader, nothing on stderr, in
# bounded time. Two forms: a pipe whose read end is closed before the
# command starts (every write fails: EPIPE), and `| head -1` for the
# commands that run until stopped (closer trace | head -1 never ended:
# SIGPIPE ignored, writes failing, BPF programs attached).
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
netns_new NS
# Something to list: a listener, an established pair, a TIME_WAIT.
bg PY ip netns exec "$NS" /usr/bin/python3 -c "
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('127.0.0.1', 7000)); l.listen(64)
keep = []
for i in range(300):
    c = socket.create_connection(('127.0.0.1', 7000)); a, _ = l.accept(); keep += [c, a]
for i in range(100):
    c = socket.create_connection(('127.0.0.1', 7000)); a, _ = l.accept(); a.close(); c.close()
open('$tmp/ready', 'w').close()
time.sleep(120)"
wait_for 10 test -e "$tmp/ready"

# closed_reader NAME ARGS...: the status with a reader, then with a pipe
# nobody reads; both must match and stderr stay empty.
closed_reader() {
    local name=$1; shift
    local want got
    ip netns exec "$NS" timeout 20 "$CLOSER" "$@" >/dev/null 2>&1; want=$?
    got=$(ip netns exec "$NS" /usr/bin/python3 -c "
import os, subprocess, sys
r, w = os.pipe(); os.close(r)
try:
    p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, timeout=20)
    # trace may say that events were lost (other tracers on the host): not ours
    err = b''.join(l for l in p.stderr.splitlines(True) if b' events lost' not in l)
    print(p.returncode, len(err), err[:200])
except subprocess.TimeoutExpired:
    print('timeout')" "$CLOSER" "$@")
    check_eq "closed_reader_$name" "$got" "$want 0 b''"
}
closed_reader help help
closed_reader version --version
closed_reader states states
closed_reader states_json states --json
closed_reader states_all states -a -o -e
closed_reader doctor doctor
closed_reader doctor_json doctor --json
closed_reader doctor_catalog doctor --catalog
closed_reader top_batch top -b -n 3 -i 100ms
closed_reader top_json top --json -n 3 -i 100ms
closed_reader lab_list lab list
closed_reader trace_summary trace --summary 300ms
closed_reader serve_help serve --help

# head_one NAME ARGS...: CMD | head -1 ends, status 0, nothing on stderr.
head_one() {
    local name=$1; shift
    local st
    ip netns exec "$NS" timeout 20 bash -c 'set -o pipefail; "$@" 2>"'"$tmp/err"'" | head -1 >/dev/null' _ \
        "$CLOSER" "$@"
    st=$?
    # (trace may say that events were lost to other tracers on the host: not ours)
    check_eq "head_one_$name" "$st $(grep -v ' events lost' "$tmp/err" | wc -c)" "0 0"
}
head_one trace trace
head_one trace_json trace --json
head_one top_batch top -b -i 100ms
head_one top_json top --json -i 100ms
head_one states states
