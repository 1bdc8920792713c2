#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every network namespace at once: NS namespaces (default 100) with COUNT
# sockets each (default 1,000): half of them ESTABLISHED loopback connections
# held by a process (bench/connpile: they do not expire, and give the doctor
# owners to find), half server-side TIME_WAIT (twgen, listener kept open),
# then, in the same run, RUNS rounds of
#   anchor:  for NS in all: ip netns exec NS ss -tan      (what a user does today)
#   closer doctor --all-netns           (every namespace, full analysis)
#   closer doctor --all-netns --json
# interleaved so drift hits every row alike. Prints medians and ratios to the
# anchor. Goal: closer doctor --all-netns <= 1x the anchor.
#   bench/netns.sh [NS] [COUNT] [RUNS]      (defaults 100, 1000, 3)
# TIME_WAIT lasts 60 s: on a busy machine the rounds can outlast it, so the
# sockets are counted again after the last round (with nsenter, cheaper than
# ip netns exec) and the ESTABLISHED half stays whatever happens.
# Note: the kernel's TCP hash tables are shared by every namespace (unless
# net.ipv4.tcp_child_ehash_entries gave one its own), so a sock_diag dump in
# one namespace walks every socket of the host: both rows pay that per
# namespace.
. "$(dirname "$0")/lib.sh"
bench_need_root
NNS=${1:-100} COUNT=${2:-1000} RUNS=${3:-3}
[ -x "$CLOSER" ] || { echo "netns: $CLOSER missing (make closer)"; exit 2; }
bench_build_c twgen
bench_build_c connpile
out=$(mktemp -d)
trap '__bench_cleanup; rm -rf "$out"' EXIT

PAIRS=$((COUNT / 4)) TW=$((COUNT / 2))
echo "== netns: $NNS namespaces x $COUNT sockets ($((2 * PAIRS)) ESTABLISHED, $TW server-side TIME_WAIT), median of $RUNS runs"
nss=()
for ((i = 0; i < NNS; i++)); do
    bench_netns ns
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=0
    nss+=("$ns")
done
start=$SECONDS
for ((i = 0; i < NNS; i++)); do
    bench_bg ip netns exec "${nss[$i]}" "$ROOT/build/bench/connpile" --pairs "$PAIRS" --port 9000 >"$out/c$i"
    bench_bg ip netns exec "${nss[$i]}" "$ROOT/build/bench/twgen" --count "$TW" --side server \
        --port 8080 --jobs 1 >"$out/$i"
done
for ((i = 0; i < NNS; i++)); do
    until grep -q created "$out/$i" 2>/dev/null && grep -q ready "$out/c$i" 2>/dev/null; do
        kill -0 "${__bench_pids[$((2 * i))]}" "${__bench_pids[$((2 * i + 1))]}" 2>/dev/null ||
            { echo "netns: connpile or twgen in ${nss[$i]} failed"; exit 1; }
        sleep 0.05
    done
done
sock_total() {  # sockets other than listeners, in every bench namespace
    local n=0 ns
    for ns in "${nss[@]}"; do n=$((n + $(nsenter --net="/run/netns/$ns" ss -Htan state connected | wc -l))); done
    echo $n
}
tw_start=$(sock_total)
echo "sockets present: $tw_start in $NNS namespaces (ss, listeners not counted); made in $((SECONDS - start)) s"
[ "$tw_start" -ge $((NNS * COUNT)) ] || { echo "netns: only $tw_start sockets present"; exit 1; }

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
tw_end=$(sock_total)
echo "sockets still present after the rounds: $tw_end ($((SECONDS - start)) s after the first was made)"
[ "$tw_end" -ge $((NNS * COUNT)) ] ||
    echo "netns: note: TIME_WAIT expired during the rounds (the ESTABLISHED half stayed)"

# closer must see what ss sees in the bench namespaces (ESTABLISHED: stable).
seen=0
for ns in "${nss[@]}"; do
    want=$(nsenter --net="/run/netns/$ns" ss -Htan state established | wc -l)
    got=$("$CLOSER" states -N "$ns" --summary | awk '$1 == "ESTAB" {print $2}')
    [ "$got" = "$want" ] && [ "$want" -eq $((2 * PAIRS)) ] && seen=$((seen + 1))
done
echo "namespaces where closer's ESTABLISHED count is ss's ($((2 * PAIRS))): $seen of $NNS"

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
bench_summary "$NNS namespaces x $COUNT sockets: doctor --all-netns $(ratio "$doc" "$anchor_s")x of ip netns exec ss -tan for each (goal <= 1x)"
exit $failed
