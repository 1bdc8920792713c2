#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every label set the exporter writes is bounded. An unprivileged user
# opens 3,000 listeners (per-listener series had no cap: 18,000 listeners
# took a scrape from 93 series to 36,093), connects to 300 of them (300
# server ports, 300 client destinations), and 40 processes with distinct
# names each hold a CLOSE_WAIT socket (tests/lib/many_labels.py). Every
# family stays within its --top-* cap plus its "other" row.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
chmod 711 "$tmp"; mkdir -m 777 "$tmp/r" # the user nobody touches its ready file there
lib=$(cd "$(dirname "$0")/../lib" && pwd)
netns_new NS
bg LOAD ip netns exec "$NS" bash -c "ulimit -n 8192; exec setpriv --reuid=65534 --regid=65534 \
    --clear-groups /usr/bin/python3 '$lib/many_labels.py' '$tmp/r/ready' 3000 300 40"
wait_for 60 test -e "$tmp/r/ready" || fail labels_ready "many_labels.py did not get ready"
check_eq listeners_opened "$(ip netns exec "$NS" ss -Htln | wc -l)" 3000
check_eq close_wait_held "$(ip netns exec "$NS" ss -Htan state close-wait | wc -l)" 40
bg EXP ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9337
wait_listen "$NS" 9337 || fail exporter_listens "no listener"
ip netns exec "$NS" curl -s -m 20 http://127.0.0.1:9337/metrics >"$tmp/m"
# series per family: sample lines whose name (before { or space) is the family
series() { grep -cE "^$1(\{| )" "$tmp/m"; }
check_eq listen_queue_capped "$(series closer_listen_queue_length)" 21     # --top-listeners 20 + other
check_eq listen_backlog_capped "$(series closer_listen_backlog)" 21
# 3000 and the exporter's own; the 20 shown are the exporter's (backlog 511)
# and 19 of the user's (backlog 8): the other 2981 are summed.
check_eq listeners_counted "$(grep '^closer_listeners ' "$tmp/m")" "closer_listeners 3001"
check_eq listen_other_sums_the_rest "$(grep '^closer_listen_backlog{listen="other"}' "$tmp/m")" \
    'closer_listen_backlog{listen="other"} 23848'
check server_ports_capped test "$(series closer_server_sockets)" -le $(((10 + 1) * 11))
check client_destinations_capped test "$(series closer_client_sockets)" -le $(((10 + 1) * 11))
check ephemeral_capped test "$(series closer_ephemeral_ports_used)" -le 11
check_eq close_wait_capped "$(series closer_close_wait_sockets)" 12      # 10 + other + none
check close_wait_other_has_the_rest grep -q '^closer_close_wait_sockets{comm="",owner="other"} 30$' "$tmp/m"
total=$(grep -vc '^#' "$tmp/m")
echo "# $total series for 3000 listeners, 300 ports and destinations, 40 processes"
check whole_scrape_bounded test "$total" -lt 600
# Smaller caps are honoured too.
bg EXP2 ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9338 --top-listeners 3
wait_listen "$NS" 9338 || fail exporter_listens "no listener"
ip netns exec "$NS" curl -s -m 20 http://127.0.0.1:9338/metrics >"$tmp/m"
check_eq top_listeners_flag "$(series closer_listen_backlog)" 4
