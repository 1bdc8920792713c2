#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The exporter folds TIME_WAIT as the dump arrives and keeps at most 4,096
# client destinations (snapshot/twfold.h): a client that talked to 6,000
# peers leaves 6,000 TIME_WAIT destinations, of which the busy one keeps
# its exact count and the rest sum into destination="other" without loss.
# ss is the referee for every count.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
netns_new NS
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=0
# 6,000 peers 127.0.X.Y (loopback answers the whole 127/8) with one
# connection each, and 300 more to 127.0.0.1: the client closes first, so
# every TIME_WAIT is the client's, on an ephemeral port.
cat >"$tmp/peers.py" <<'PY'
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 8080)); srv.listen(4096)
def one(addr):
    c = socket.create_connection((addr, 8080)); s, _ = srv.accept()
    c.close(); s.recv(1); s.close()
n = int(sys.argv[1])
for i in range(n):
    one("127.0.%d.%d" % (1 + i // 250, 1 + i % 250))
for i in range(300):
    one("127.0.0.1")
PY
ip netns exec "$NS" timeout 120 /usr/bin/python3 "$tmp/peers.py" 6000 || fail peers_made "python exited $?"
ss_tw=$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)
ss_busy=$(ip netns exec "$NS" ss -Htan state time-wait dst 127.0.0.1:8080 | wc -l)
check_eq time_wait_made "$ss_tw" 6300
check_eq busy_peer_made "$ss_busy" 300
bg EXP ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9339
wait_listen "$NS" 9339 || fail exporter_listens "no listener"
ip netns exec "$NS" curl -s -m 20 http://127.0.0.1:9339/metrics >"$tmp/m"
# TIME_WAIT by destination: named ones plus "other" sum to ss's count
sum=$(awk '/^closer_client_sockets\{.*state="TIME_WAIT"\}/ { s += $2 } END { print s + 0 }' "$tmp/m")
check_eq client_time_wait_all_counted "$sum" "$ss_tw"
check busy_peer_exact grep -q '^closer_client_sockets{destination="127.0.0.1:8080",state="TIME_WAIT"} 300$' "$tmp/m"
other=$(awk '/^closer_client_sockets\{destination="other",state="TIME_WAIT"\}/ { print $2 }' "$tmp/m")
check other_has_the_rest test "${other:-0}" -ge 5990
eph=$(awk '/^closer_ephemeral_ports_used\{/ { s += $2 } END { print s + 0 }' "$tmp/m")
# every TIME_WAIT, plus the scrape's own connection (and at most one more)
check ephemeral_all_counted test "$eph" -ge "$ss_tw" -a "$eph" -le $((ss_tw + 2))
check_eq time_wait_total "$(awk '/^closer_tcp_sockets\{state="TIME_WAIT"\}/ { print $2 }' "$tmp/m")" "$ss_tw"
series=$(grep -c '^closer_client_sockets{' "$tmp/m")
check client_series_bounded test "$series" -le $(((10 + 1) * 11))

# --all-netns: a namespace past 25,000 sockets folds its TIME_WAIT too
# (snapshot/multi.h), shown with its own series or pooled into
# netns="other" with the small ones (their folds merged). Two such
# namespaces, --top-netns 1: one is shown, the other pooled.
netns_new NS2
ip netns exec "$NS" timeout 120 /usr/bin/python3 "$tmp/peers.py" 24000 || fail more_peers_made "python exited $?"
ip netns exec "$NS2" timeout 120 /usr/bin/python3 "$tmp/peers.py" 27000 || fail ns2_peers_made "python exited $?"
bg EXPALL "$CLOSER" exporter --all-netns --top-netns 1 --listen 127.0.0.1:9340
wait_for 20 curl -s -o /dev/null http://127.0.0.1:9340/metrics || fail exporter_all_listens "no answer"
curl -s -m 60 http://127.0.0.1:9340/metrics >"$tmp/all"
tw1=$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)
tw2=$(ip netns exec "$NS2" ss -Htan state time-wait | wc -l)
check both_past_the_fold test "$tw1" -gt 25000 -a "$tw2" -gt 25000
i1=$(stat -L -c %i "/run/netns/$NS") i2=$(stat -L -c %i "/run/netns/$NS2")
val() { awk -v s="$1" '$1 == s { print $2 }' "$tmp/all"; }
shown=$(val "closer_tcp_sockets{netns=\"$i1\",state=\"TIME_WAIT\"}")
want=$tw1 pooled=$tw2
if [ -z "$shown" ]; then
    shown=$(val "closer_tcp_sockets{netns=\"$i2\",state=\"TIME_WAIT\"}") want=$tw2 pooled=$tw1
fi
# TIME_WAIT only expires between ss and the scrape (none is made meanwhile)
check shown_namespace_counts_all test "${shown:-0}" -le "$want" -a "${shown:-0}" -ge $((want - 200))
other=$(val 'closer_tcp_sockets{netns="other",state="TIME_WAIT"}')
check pooled_namespace_counted test "${other:-0}" -ge $((pooled - 200))
# the busy peer: NS made 600 to it, NS2 300; other namespaces on the host
# may add to the pool's
if [ "$want" = "$tw1" ]; then si=$i1 sb=600 pb=300; else si=$i2 sb=300 pb=600; fi
check_eq busy_peer_exact_when_shown "$(val "closer_client_sockets{netns=\"$si\",destination=\"127.0.0.1:8080\",state=\"TIME_WAIT\"}")" "$sb"
pooled_busy=$(val 'closer_client_sockets{netns="other",destination="127.0.0.1:8080",state="TIME_WAIT"}')
check busy_peer_counted_when_pooled test "${pooled_busy:-0}" -ge "$pb"
