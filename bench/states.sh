#!/usr/bin/env bash
# The socket-table benchmark: 300,000 TIME_WAIT sockets in a private
# namespace (most server-side on one listening port, the rest client-side
# from many 127.x source addresses), then, in the same run, the median of
# RUNS runs of closer's commands against ss -tan (the anchor) and netstat.
# Goal: closer doctor (the full analysis) <= 0.5x the time of ss -tan.
#   bench/states.sh [COUNT] [RUNS]
. "$(dirname "$0")/lib.sh"
bench_need_root
COUNT=${1:-300000} RUNS=${2:-5}
CLIENT=$((COUNT / 10)) SERVER=$((COUNT - COUNT / 10))
bench_build_c twgen
bench_netns NS
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_max_tw_buckets=$((COUNT * 2))
# Loopback TIME_WAIT reuse (tcp_tw_reuse=2) would recycle some client-side ones.
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=0
echo "== states: $COUNT TIME_WAIT sockets ($SERVER server-side, $CLIENT client-side), median of $RUNS runs"
ip netns exec "$NS" "$ROOT/build/bench/twgen" --count "$SERVER" --side server --port 8080 > /tmp/closer-twgen.$$ &
__bench_pids+=($!)
for _ in $(seq 1 600); do grep -q created /tmp/closer-twgen.$$ 2>/dev/null && break; sleep 0.1; done
cat /tmp/closer-twgen.$$; rm -f /tmp/closer-twgen.$$
ip netns exec "$NS" "$ROOT/build/bench/twgen" --count "$CLIENT" --side client --port 9090 --sources 16 || exit 1
have=$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)
echo "time-wait sockets present: $have"

read -r ss_t ss_m < <(bench_time "$RUNS" ip netns exec "$NS" ss -tan)
printf '%-34s %9s %8s %10s\n' command median_s ratio peak_rss_KiB
printf '%-34s %9s %8s %10s\n' "ss -tan (anchor)" "$ss_t" 1.00 "$ss_m"
for cmd in "netstat -ant" "$CLOSER states --summary" "$CLOSER doctor" "$CLOSER doctor --json" "$CLOSER states"; do
    [ "${cmd%% *}" = netstat ] && ! command -v netstat >/dev/null && continue
    read -r t m < <(bench_time "$RUNS" ip netns exec "$NS" $cmd)
    printf '%-34s %9s %8s %10s\n' "${cmd#"$ROOT/"}" "$t" "$(ratio "$t" "$ss_t")" "$m"
done
