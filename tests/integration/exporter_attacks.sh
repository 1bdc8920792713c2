#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer exporter attacked: 256 scrapers sending one byte per second must
# not blind monitoring (every normal scrape by curl is answered, and each
# slow one is dropped at its request-head deadline, not kept alive by its
# trickle); at fd exhaustion no busy loop (CPU ticks over a window); a
# request body is discarded, never parsed as the next request.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
netns_new NS
py() { ip netns exec "$NS" /usr/bin/python3 -c "$1"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# 1. 256 slowloris scrapers (the default --max-conns) against --timeout 2s.
bg EXP ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9337 --timeout 2s --no-owners
wait_listen "$NS" 9337 || fail exporter_listens "no listener"
py "
import socket, time
socks = [socket.create_connection(('127.0.0.1', 9337)) for _ in range(256)]
open('$tmp/slow-ready', 'w').close()
req = b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'
closed_by_server = 0
for i in range(7):
    for s in list(socks):
        try:
            s.send(req[i:i + 1])
        except OSError:
            closed_by_server += 1; socks.remove(s)
    time.sleep(1)
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) == b'': closed_by_server += 1
    except BlockingIOError: pass
    except OSError: closed_by_server += 1
print(closed_by_server, file=open('$tmp/slow', 'w'))" &
slow=$!
wait_for 10 test -e "$tmp/slow-ready"
for i in $(seq 1 20); do
    ip netns exec "$NS" curl -s --max-time 5 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:9337/metrics >> "$tmp/codes"
    sleep 0.2
done
wait $slow
check_eq slowloris_scrapes_answered "$(grep -c '^200$' "$tmp/codes")" 20
check_eq slowloris_dropped_at_deadline "$(cat "$tmp/slow")" 256

# 2. A request body is read and discarded: one answer (405), not two.
r=$(py "
import re, socket
s = socket.create_connection(('127.0.0.1', 9337)); s.settimeout(5)
s.sendall(b'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
d = b''
while True:
    try: x = s.recv(65536)
    except socket.timeout: break
    if not x: break
    d += x
print(' '.join(re.findall(r'HTTP/1\.1 (\d{3}) ', d.decode())))")
check_eq body_not_a_request "$r" "405 404"
kill "$EXP"; wait "$EXP" 2>/dev/null

# 3. fd exhaustion: 60 connections against 40 file descriptors. The
#    exporter pauses accepting instead of spinning on the listener.
bg EXP ip netns exec "$NS" bash -c "ulimit -n 40; exec '$CLOSER' exporter --listen 127.0.0.1:9338 --timeout 30s --no-owners"
wait_listen "$NS" 9338 || fail exporter_listens "no listener"
py "
import socket, time
socks = [socket.create_connection(('127.0.0.1', 9338)) for _ in range(60)]
open('$tmp/fd-ready', 'w').close()
time.sleep(3.5)" &
hold=$!
wait_for 10 test -e "$tmp/fd-ready"
sleep 0.5
t0=$(ticks "$EXP"); sleep 2; t1=$(ticks "$EXP")
check emfile_no_spin test $((t1 - t0)) -lt $((hz / 5))
wait $hold
sleep 0.6
check_eq emfile_then_scrape "$(ip netns exec "$NS" curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:9338/metrics)" 200
