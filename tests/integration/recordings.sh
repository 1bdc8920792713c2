#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Recordings (states/doctor --record, --replay): a write error is reported
# with exit 2 (doctor --record /dev/full exited 0; states fell back to /proc
# and exited 0); a recording carries a magic, a version and lengths, and a
# file of zeros, /dev/zero, a truncated, a cut or a mangled recording is
# refused with a reason, exit 2, in bounded time (a file of zeros was a
# valid empty table; /dev/zero never ended).
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
netns_new NS
bg P ip netns exec "$NS" /usr/bin/python3 -c "
import socket, time
l = socket.socket(); l.bind(('127.0.0.1', 7000)); l.listen(64)
k = [socket.create_connection(('127.0.0.1', 7000)) for i in range(20)]
k += [l.accept()[0] for i in range(20)]
open('$tmp/ready', 'w').close(); time.sleep(60)"
wait_for 10 test -e "$tmp/ready"
for cmd in states doctor; do
    ip netns exec "$NS" timeout 20 "$CLOSER" $cmd --record /dev/full >/dev/null 2>"$tmp/err"
    check_eq "${cmd}_record_dev_full" "$? $(grep -c 'record /dev/full: No space left' "$tmp/err")" "2 1"
done
ip netns exec "$NS" "$CLOSER" states --record "$tmp/good" >"$tmp/live.txt"
"$CLOSER" states --replay "$tmp/good" >"$tmp/replay.txt" 2>/dev/null
check replay_equals_live cmp -s "$tmp/live.txt" "$tmp/replay.txt"
check_eq recording_has_magic "$(head -c 8 "$tmp/good")" CLSRDIAG
size=$(stat -c %s "$tmp/good")
head -c 65536 /dev/zero >"$tmp/zeros"
head -c $((size - 5)) "$tmp/good" >"$tmp/cut"
head -c 40 "$tmp/good" >"$tmp/short"
{ cat "$tmp/good"; echo junk; } >"$tmp/tail"
python3 -c "
import sys; d = bytearray(open('$tmp/good', 'rb').read())
d[16:20] = (0x7fffffff).to_bytes(4, sys.byteorder); open('$tmp/biglen', 'wb').write(d)
d = bytearray(open('$tmp/good', 'rb').read()); d[24:40] = b'\xff' * 16; open('$tmp/mangled', 'wb').write(d)"
head -c 4096 /dev/urandom >"$tmp/random"
for f in zeros cut short tail biglen mangled random /dev/zero /dev/urandom; do
    case $f in /*) p=$f ;; *) p=$tmp/$f ;; esac
    for cmd in states doctor; do
        timeout 20 "$CLOSER" $cmd --replay "$p" >/dev/null 2>"$tmp/err"
        rc=$?
        if [ $rc = 2 ] && grep -q "replay $p: " "$tmp/err"; then pass "${cmd}_refuses_$(basename "$f")"
        else fail "${cmd}_refuses_$(basename "$f")" "rc=$rc $(head -c 200 "$tmp/err")"; fi
    done
done
