#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The socket-table benchmark: 300,000 TIME_WAIT sockets in a private
# namespace (90% server-side on listening port 8080, 10% client-side from
# many 127.1.x.y source addresses), then, in the same run, RUNS rounds of
# closer's commands, ss -tan (the anchor) and netstat -ant, interleaved so
# that drift hits every row alike. Prints each median, the ratio to ss -tan
# and the peak RSS. Goal: closer doctor (the full analysis) <= 0.5x ss -tan.
#   bench/states.sh [COUNT] [RUNS]        (defaults 300000, 5)
# CLOSER_BASE=PATH adds rows for another closer binary (an earlier build),
# measured in the same rounds: before and after side by side.
# Every row runs as `ip netns exec NS CMD` (same entry cost for all); one
# extra row shows closer's own -N NAME entry.
# TIME_WAIT lasts 60 s: generation plus the timing rounds must fit in that,
# so the count is checked again after the last round.
. "$(dirname "$0")/lib.sh"
bench_need_root
COUNT=${1:-300000} RUNS=${2:-5}
CLIENT=$((COUNT / 10)) SERVER=$((COUNT - COUNT / 10))
[ -x "$CLOSER" ] || { echo "states: $CLOSER missing (make closer)"; exit 2; }
bench_build_c twgen
bench_netns NS
# Loopback TIME_WAIT reuse (tcp_tw_reuse=2, the default) would recycle some
# client-side ones; twgen raises tcp_max_tw_buckets itself.
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=0
out=$(mktemp)
trap '__bench_cleanup; rm -f "$out"' EXIT

echo "== states: $COUNT TIME_WAIT sockets ($SERVER server-side, $CLIENT client-side), median of $RUNS runs"
start=$SECONDS
# Server side: twgen keeps its listeners open until killed (that is what
# makes the TIME_WAIT server-side to doctor).
bench_bg ip netns exec "$NS" "$ROOT/build/bench/twgen" --count "$SERVER" --side server --port 8080 >"$out"
gen=${__bench_pids[-1]}
while ! grep -q created "$out"; do
    kill -0 "$gen" 2>/dev/null || { echo "states: twgen (server side) failed"; exit 1; }
    sleep 0.1
done
cat "$out"
ip netns exec "$NS" "$ROOT/build/bench/twgen" --count "$CLIENT" --side client --port 9090 || exit 1
tw_ss() { ip netns exec "$NS" ss -Htan state time-wait | wc -l; }
tw_closer=$("$CLOSER" states -N "$NS" --summary | awk '$1 == "TIME_WAIT" { print $2 }')
tw_start=$(tw_ss)
echo "time-wait present: $tw_start (ss), $tw_closer (closer states --summary); generated in $((SECONDS - start)) s"
[ "$tw_start" -ge "$COUNT" ] || { echo "states: only $tw_start TIME_WAIT present"; exit 1; }
[ "$tw_closer" = "$tw_start" ] || echo "states: WARNING closer counts $tw_closer TIME_WAIT, ss $tw_start"

rows=("ss -tan" "netstat -ant" "closer states --summary" "closer doctor" "closer doctor --json"
      "closer states" "closer doctor -N $NS")
[ -n "${CLOSER_BASE:-}" ] && rows+=("closer-base doctor" "closer-base states --summary" "closer-base states")
failed=0
bench_rounds "$NS" "$RUNS" "${rows[@]}" || failed=1
tw_end=$(tw_ss)
bench_table "$NS" "ss -tan" "${rows[@]}"
echo "time-wait present after the last round: $tw_end; total $((SECONDS - start)) s"

ss_t=$(bench_median_of "ss -tan")
x_ss() { ratio "$(bench_median_of "$1")" "$ss_t"; }
doc_x=$(x_ss "closer doctor")
verdict=$(awk -v x="$doc_x" 'BEGIN { print (x != "n/a" && x <= 0.5) ? "met" : "MISSED" }')
[ -n "${BENCH_FAILED["closer doctor"]:-}" ] && verdict=FAILED
echo "goal: closer doctor <= 0.50x ss -tan: $verdict (${doc_x}x)"
bench_summary "states: $tw_start TIME_WAIT; closer doctor ${doc_x}x ss -tan (goal <= 0.5x: $verdict)," \
    "states --summary $(x_ss "closer states --summary")x, states $(x_ss "closer states")x," \
    "netstat $(x_ss "netstat -ant")x;" \
    "peak RSS doctor ${BENCH_PEAK_KIB["closer doctor"]} KiB, ss ${BENCH_PEAK_KIB["ss -tan"]} KiB"
[ "$tw_end" -ge "$COUNT" ] || echo "states: WARNING $((COUNT - tw_end)) TIME_WAIT expired before the last round"
[ "$failed" = 0 ]
