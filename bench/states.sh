#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The socket-table benchmark: 300,000 TIME_WAIT sockets in a private
# namespace (90% server-side on listening port 8080, 10% client-side from
# many 127.1.x.y source addresses), then, in the same run, RUNS rounds of
# closer's commands, ss -tan (the anchor) and netstat -ant, interleaved so
# that drift hits every row alike. Prints each median, the ratio to ss -tan
# and the peak RSS. Goal: closer doctor (the full analysis) <= 0.5x ss -tan.
#   bench/states.sh [COUNT] [RUNS]        (defaults 300000, 5)
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
declare -A secs kib rc
failed=0
for ((r = 0; r < RUNS; r++)); do
    for row in "${rows[@]}"; do
        read -ra argv <<<"$row"
        ns=$NS
        [ "${argv[0]}" = closer ] && argv[0]=$CLOSER
        [ "${argv[-2]}" = -N ] && ns=-
        bench_once "$ns" "${argv[@]}"
        secs[$row]+=" $BENCH_S"
        [ "${BENCH_KIB:-0}" -gt "${kib[$row]:-0}" ] && kib[$row]=$BENCH_KIB
        # doctor exits 1 when it has warnings; 2 or more is a failure.
        ok_rc=0
        [ "${argv[1]:-}" = doctor ] && ok_rc=1
        [ "$BENCH_RC" -gt "$ok_rc" ] && rc[$row]=$BENCH_RC failed=1
    done
done
tw_end=$(tw_ss)

# shellcheck disable=SC2086 # word splitting of the samples is wanted
ss_t=$(bench_median ${secs["ss -tan"]})
printf '%-36s %9s %8s %13s\n' command median_s "x ss-tan" peak_rss_KiB
for row in "${rows[@]}"; do
    t=$(bench_median ${secs[$row]})
    label=$row
    [ "$row" = "ss -tan" ] && label="ss -tan (anchor)"
    [ -n "${rc[$row]:-}" ] && label="$label (FAILED, exit ${rc[$row]})"
    printf '%-36s %9s %8s %13s\n' "${label/$NS/NS}" "$t" "$(ratio "$t" "$ss_t")" "${kib[$row]}"
done
echo "time-wait present after the last round: $tw_end; total $((SECONDS - start)) s"

doc_t=$(bench_median ${secs["closer doctor"]})
doc_x=$(ratio "$doc_t" "$ss_t")
verdict=$(awk -v x="$doc_x" 'BEGIN { print (x != "n/a" && x <= 0.5) ? "met" : "MISSED" }')
[ -n "${rc["closer doctor"]:-}" ] && verdict=FAILED
echo "goal: closer doctor <= 0.50x ss -tan: $verdict (${doc_x}x)"
bench_summary "states: $tw_start TIME_WAIT; closer doctor ${doc_x}x ss -tan (goal <= 0.5x: $verdict)," \
    "states --summary $(ratio "$(bench_median ${secs["closer states --summary"]})" "$ss_t")x," \
    "states $(ratio "$(bench_median ${secs["closer states"]})" "$ss_t")x," \
    "netstat $(ratio "$(bench_median ${secs["netstat -ant"]})" "$ss_t")x;" \
    "peak RSS doctor ${kib["closer doctor"]} KiB, ss ${kib["ss -tan"]} KiB"
[ "$tw_end" -ge "$COUNT" ] || echo "states: WARNING $((COUNT - tw_end)) TIME_WAIT expired before the last round"
[ "$failed" = 0 ]
