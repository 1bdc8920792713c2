#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The exporter benchmark: COUNT TIME_WAIT sockets in a private namespace
# (90% server-side on one port, 10% client-side), then in the same run the
# median scrape time of closer exporter's /metrics (a fresh snapshot each
# scrape: --cache 0ms) against node_exporter with only its tcpstat collector
# (the anchor). Goal: ratio <= 0.5, while closer gives per-port detail.
#   bench/exporter.sh [COUNT] [RUNS]
# Each exporter's peak RSS (VmHWM, over all its scrapes) is printed too.
# CLOSER_BASE=PATH adds another closer binary (an earlier build) on port
# 9338, scraped in the same run: before and after side by side.
. "$(dirname "$0")/lib.sh"
bench_need_root
COUNT=${1:-300000} RUNS=${2:-7}
CLIENT=$((COUNT / 10)) SERVER=$((COUNT - COUNT / 10))
NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
[ -x "$NODE_EXPORTER" ] || { echo "bench: $NODE_EXPORTER missing (apt install prometheus-node-exporter)"; exit 2; }
bench_build_c twgen
bench_netns NS
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_max_tw_buckets=$((COUNT * 2))
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=0
echo "== exporter: $COUNT TIME_WAIT sockets ($SERVER server-side, $CLIENT client-side), median of $RUNS scrapes"
log=$(mktemp)
ip netns exec "$NS" "$ROOT/build/bench/twgen" --count "$SERVER" --side server --port 8080 > "$log" &
__bench_pids+=($!)
for _ in $(seq 1 600); do grep -q created "$log" 2>/dev/null && break; sleep 0.1; done
ip netns exec "$NS" "$ROOT/build/bench/twgen" --count "$CLIENT" --side client --port 9090 --sources 16 >/dev/null || exit 1
rm -f "$log"
echo "time-wait sockets present: $(ip netns exec "$NS" ss -Htan state time-wait | wc -l)"

bench_bg ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9337 --cache 0ms --timeout 60s ${CLOSER_EXPORTER_ARGS:-}
closer_pid=${__bench_pids[-1]}
bench_bg ip netns exec "$NS" "$NODE_EXPORTER" --collector.disable-defaults --collector.tcpstat \
    --web.listen-address=127.0.0.1:9100
node_pid=${__bench_pids[-1]}
base_pid=
if [ -n "${CLOSER_BASE:-}" ]; then
    bench_bg ip netns exec "$NS" "$CLOSER_BASE" exporter --listen 127.0.0.1:9338 --cache 0ms --timeout 60s
    base_pid=${__bench_pids[-1]}
fi
# hwm PID: the process's peak resident set so far, KiB (ip netns exec execs it: same pid).
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo n/a; }
for _ in $(seq 1 100); do
    ip netns exec "$NS" curl -s -o /dev/null 127.0.0.1:9337/ && ip netns exec "$NS" curl -s -o /dev/null 127.0.0.1:9100/ && break
    sleep 0.1
done

# scrape_median URL: median of RUNS scrapes' total time (seconds), after one warm-up.
scrape_median() {
    local times=() i
    ip netns exec "$NS" curl -s -o /dev/null "$1"
    for ((i = 0; i < RUNS; i++)); do
        times+=("$(ip netns exec "$NS" curl -s -o /dev/null -w '%{time_total}' "$1")")
    done
    bench_median "${times[@]}"
}
node_t=$(scrape_median http://127.0.0.1:9100/metrics)
closer_t=$(scrape_median http://127.0.0.1:9337/metrics)
[ -n "$base_pid" ] && base_t=$(scrape_median http://127.0.0.1:9338/metrics)
printf '%-44s %9s %7s %13s\n' scrape median_s ratio peak_rss_KiB
printf '%-44s %9s %7s %13s\n' "node_exporter --collector.tcpstat (anchor)" "$node_t" 1.00 "$(hwm "$node_pid")"
printf '%-44s %9s %7s %13s\n' "closer exporter" "$closer_t" "$(ratio "$closer_t" "$node_t")" "$(hwm "$closer_pid")"
[ -n "$base_pid" ] && printf '%-44s %9s %7s %13s\n' "closer exporter (CLOSER_BASE)" "$base_t" \
    "$(ratio "$base_t" "$node_t")" "$(hwm "$base_pid")"

# What each one tells: node_exporter's TIME_WAIT total, closer's per port.
ip netns exec "$NS" curl -s 127.0.0.1:9100/metrics | grep '^node_tcp_connection_states{state="time_wait"}'
ip netns exec "$NS" curl -s 127.0.0.1:9337/metrics |
    grep -E '^closer_(server_sockets\{port="8080",state="TIME_WAIT"|scrape_duration_seconds|snapshot_duration_seconds)' 
echo "series: node_exporter $(ip netns exec "$NS" curl -s 127.0.0.1:9100/metrics | grep -vc '^#')," \
     "closer $(ip netns exec "$NS" curl -s 127.0.0.1:9337/metrics | grep -vc '^#')"
bench_summary "exporter: closer /metrics ${closer_t}s vs node_exporter tcpstat ${node_t}s at $COUNT TIME_WAIT: ratio $(ratio "$closer_t" "$node_t") (goal <= 0.5), peak RSS closer $(hwm "$closer_pid") KiB, node_exporter $(hwm "$node_pid") KiB"

# Second shape: the server is gone (twgen killed: its listeners close) while
# its TIME_WAIT runs out, so nothing listens on 8080 and every one of the
# server-side sockets has a distinct peer. closer still counts them on port
# 8080 (a shared port outside the ephemeral range) instead of making one
# destination per peer.
kill "${__bench_pids[0]}" 2>/dev/null
wait "${__bench_pids[0]}" 2>/dev/null
ip netns exec "$NS" ss -Htln 'sport = :8080' | grep -q . && { echo "exporter: 8080 still listening"; exit 1; }
echo "== exporter: the same sockets with the listener gone ($(ip netns exec "$NS" ss -Htan state time-wait | wc -l) TIME_WAIT, distinct peers)"
node_t2=$(scrape_median http://127.0.0.1:9100/metrics)
closer_t2=$(scrape_median http://127.0.0.1:9337/metrics)
[ -n "$base_pid" ] && base_t2=$(scrape_median http://127.0.0.1:9338/metrics)
printf '%-44s %9s %7s %13s\n' scrape median_s ratio peak_rss_KiB
printf '%-44s %9s %7s %13s\n' "node_exporter --collector.tcpstat (anchor)" "$node_t2" 1.00 "$(hwm "$node_pid")"
printf '%-44s %9s %7s %13s\n' "closer exporter" "$closer_t2" "$(ratio "$closer_t2" "$node_t2")" "$(hwm "$closer_pid")"
[ -n "$base_pid" ] && printf '%-44s %9s %7s %13s\n' "closer exporter (CLOSER_BASE)" "$base_t2" \
    "$(ratio "$base_t2" "$node_t2")" "$(hwm "$base_pid")"
ip netns exec "$NS" curl -s 127.0.0.1:9337/metrics |
    grep -E '^closer_(server_sockets\{port="8080",state="TIME_WAIT"|client_sockets\{destination="other",state="TIME_WAIT"|scrape_duration_seconds)'
bench_summary "exporter, listener gone, distinct peers: closer ${closer_t2}s vs node_exporter ${node_t2}s: ratio $(ratio "$closer_t2" "$node_t2") (goal <= 0.5)"
