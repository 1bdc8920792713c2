#!/usr/bin/env bash
# Every network namespace at once: NS namespaces (default 100) with COUNT
# server-side TIME_WAIT sockets each (default 1,000; twgen keeps each
# namespace's listener open, so every namespace has a process and owners),
# then, in the same run, RUNS rounds of
#   anchor:  for NS in all: ip netns exec NS ss -tan      (what a user does today)
#   closer doctor --all-netns           (every namespace, full analysis)
#   closer doctor --all-netns --json
# interleaved so drift hits every row alike. Prints medians and ratios to the
# anchor. Goal: closer doctor --all-netns <= 1x the anchor.
#   bench/netns.sh [NS] [COUNT] [RUNS]      (defaults 100, 1000, 3)
# TIME_WAIT lasts 60 s: generation plus the rounds must fit in that, so the
# count is checked again after the last round (with nsenter, which is much
# cheaper than ip netns exec).
# Note: the kernel's TCP hash tables are shared by every namespace (unless
# net.ipv4.tcp_child_ehash_entries gave one its own), so a sock_diag dump in
# one namespace walks every socket of the host: both rows pay that per
# namespace.
. "$(dirname "$0")/lib.sh"
bench_need_root
NNS=${1:-100} COUNT=${2:-1000} RUNS=${3:-3}
[ -x "$CLOSER" ] || { echo "netns: $CLOSER missing (make closer)"; exit 2; }
bench_build_c twgen
out=$(mktemp -d)
trap '__bench_cleanup; rm -rf "$out"' EXIT

echo "== netns: $NNS namespaces x $COUNT server-side TIME_WAIT, median of $RUNS runs"
nss=()
for ((i = 0; i < NNS; i++)); do
    bench_netns ns
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=0
    nss+=("$ns")
done
start=$SECONDS
for ((i = 0; i < NNS; i++)); do
    bench_bg ip netns exec "${nss[$i]}" "$ROOT/build/bench/twgen" --count "$COUNT" --side server \
        --port 8080 --jobs 1 >"$out/$i"
done
for ((i = 0; i < NNS; i++)); do
    until grep -q created "$out/$i" 2>/dev/null; do
        kill -0 "${__bench_pids[$i]}" 2>/dev/null || { echo "netns: twgen in ${nss[$i]} failed"; exit 1; }
        sleep 0.05
    done
done
tw_total() {
    local n=0 ns
    for ns in "${nss[@]}"; do n=$((n + $(nsenter --net="/run/netns/$ns" ss -Htan state time-wait | wc -l))); done
    echo $n
}
tw_start=$(tw_total)
echo "time-wait present: $tw_start in $NNS namespaces (ss); generated in $((SECONDS - start)) s"
[ "$tw_start" -ge $((NNS * COUNT)) ] || { echo "netns: only $tw_start TIME_WAIT present"; exit 1; }

anchor() { local ns; for ns in "${nss[@]}"; do ip netns exec "$ns" ss -tan; done; }
rows=("anchor" "closer doctor --all-netns" "closer doctor --all-netns --json")
declare -A secs kib
failed=0
for ((r = 0; r < RUNS; r++)); do
    for row in "${rows[@]}"; do
        if [ "$row" = anchor ]; then
            t0=$(bench_usec)
            anchor >/dev/null 2>&1
            t1=$(bench_usec)
            secs[$row]+=" $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.4f", d / 1e6 }')"
            continue
        fi
        read -ra argv <<<"$row"
        argv[0]=$CLOSER
        bench_once - "${argv[@]}"
        secs[$row]+=" $BENCH_S"
        [ "${BENCH_KIB:-0}" -gt "${kib[$row]:-0}" ] && kib[$row]=$BENCH_KIB
        [ "$BENCH_RC" -le 1 ] || { echo "netns: '$row' exited $BENCH_RC"; failed=1; }
    done
done
tw_end=$(tw_total)
echo "time-wait still present after the rounds: $tw_end ($((SECONDS - start)) s after the first was made)"
[ "$tw_end" -ge $((NNS * COUNT)) ] || echo "netns: WARNING TIME_WAIT expired during the rounds: figures are low"

# closer must see what ss sees in every namespace.
seen=$("$CLOSER" states --all-netns --summary | awk '/^netns / {ns=$2} $1 == "TIME_WAIT" {print ns, $2}' |
    awk '$2 >= '"$COUNT"' {n++} END {print n + 0}')
echo "namespaces where closer counts >= $COUNT TIME_WAIT: $seen of $NNS"

anchor_s=$(bench_median ${secs[anchor]})
printf '%-40s %10s %8s %10s\n' "command" "median s" "ratio" "peak RSS"
for row in "${rows[@]}"; do
    med=$(bench_median ${secs[$row]})
    rss="-"
    [ -n "${kib[$row]:-}" ] && rss="$((kib[$row] / 1024)) MB"
    [ "$row" = anchor ] && row="for each NS: ip netns exec NS ss -tan"
    printf '%-40s %10s %7sx %10s\n' "$row" "$med" "$(ratio "$med" "$anchor_s")" "$rss"
done
doc=$(bench_median ${secs["closer doctor --all-netns"]})
bench_summary "$NNS namespaces x $COUNT TIME_WAIT: doctor --all-netns $(ratio "$doc" "$anchor_s")x of ip netns exec ss -tan for each (goal <= 1x)"
exit $failed
