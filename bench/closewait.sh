#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CLOSE_WAIT benchmark: COUNT owned CLOSE_WAIT sockets in a private
# namespace (tests/helpers/mkpile cw-not-closed: every fd registered in one
# epoll instance, EOF read, never closed), then, in the same run, RUNS
# rounds of ss -tanp (the anchor: it too walks /proc for owners), ss -tan,
# closer doctor --confirm 0 (the whole analysis: tcp_info, owners, epoll
# fdinfo, process model, classes) and closer states -p, interleaved.
# Goal: closer doctor --confirm 0 <= 1x ss -tanp. The default doctor also
# sleeps --confirm (1 s) and takes a second snapshot: shown for reference.
#   bench/closewait.sh [COUNT] [RUNS]        (defaults 10000, 5)
. "$(dirname "$0")/lib.sh"
bench_need_root
COUNT=${1:-10000} RUNS=${2:-5}
[ -x "$CLOSER" ] || { echo "closewait: $CLOSER missing (make closer)"; exit 2; }
MKPILE=$ROOT/build/helpers/mkpile
[ -x "$MKPILE" ] || { echo "closewait: $MKPILE missing (make test builds it)"; exit 2; }
bench_netns NS
ready=$(mktemp -u)
trap '__bench_cleanup; rm -f "$ready"' EXIT
# mkpile holds both ends (2 fds per socket) until its clients close, so
# the pile is split over processes of at most 4000 (fd limits, and the
# accept queue is capped by net.core.somaxconn=4096; a server
# farm of several processes is the usual shape anyway).
start=$SECONDS
left=$COUNT procs=0
while [ "$left" -gt 0 ]; do
    n=$((left > 4000 ? 4000 : left))
    rm -f "$ready"
    bench_bg ip netns exec "$NS" "$MKPILE" cw-not-closed $((8083 + procs)) "$n" "$ready"
    for ((i = 0; i < 600; i++)); do [ -s "$ready" ] && break; sleep 0.1; done
    [ -s "$ready" ] || { echo "closewait: mkpile did not get ready"; exit 1; }
    left=$((left - n)) procs=$((procs + 1))
done
cw=$(ip netns exec "$NS" ss -Htan state close-wait | wc -l)
echo "== closewait: $cw owned CLOSE_WAIT in $procs processes (made in $((SECONDS - start)) s), median of $RUNS runs"
[ "$cw" -ge "$COUNT" ] || { echo "closewait: only $cw CLOSE_WAIT"; exit 1; }

rows=("ss -tanp" "ss -tan" "closer doctor --confirm 0" "closer states -p" "closer doctor")
declare -A secs kib rc
failed=0
for ((r = 0; r < RUNS; r++)); do
    for row in "${rows[@]}"; do
        read -ra argv <<<"$row"
        [ "${argv[0]}" = closer ] && argv[0]=$CLOSER
        bench_once "$NS" "${argv[@]}"
        secs[$row]+=" $BENCH_S"
        [ "${BENCH_KIB:-0}" -gt "${kib[$row]:-0}" ] && kib[$row]=$BENCH_KIB
        ok_rc=0
        [ "${argv[1]:-}" = doctor ] && ok_rc=1
        [ "$BENCH_RC" -gt "$ok_rc" ] && rc[$row]=$BENCH_RC failed=1
    done
done
# shellcheck disable=SC2086 # word splitting of the samples is wanted
anchor=$(bench_median ${secs["ss -tanp"]})
printf '%-36s %9s %9s %13s\n' command median_s "x ss-tanp" peak_rss_KiB
for row in "${rows[@]}"; do
    t=$(bench_median ${secs[$row]})
    label=$row
    [ "$row" = "ss -tanp" ] && label="ss -tanp (anchor)"
    [ -n "${rc[$row]:-}" ] && label="$label (FAILED, exit ${rc[$row]})"
    printf '%-36s %9s %9s %13s\n' "$label" "$t" "$(ratio "$t" "$anchor")" "${kib[$row]}"
done
doc_x=$(ratio "$(bench_median ${secs["closer doctor --confirm 0"]})" "$anchor")
verdict=$(awk -v x="$doc_x" 'BEGIN { print (x != "n/a" && x <= 1.0) ? "met" : "MISSED" }')
[ -n "${rc["closer doctor --confirm 0"]:-}" ] && verdict=FAILED
echo "goal: closer doctor --confirm 0 <= 1.00x ss -tanp: $verdict (${doc_x}x)"
bench_summary "closewait: $cw owned CLOSE_WAIT; closer doctor --confirm 0 ${doc_x}x ss -tanp" \
    "(goal <= 1x: $verdict), states -p $(ratio "$(bench_median ${secs["closer states -p"]})" "$anchor")x," \
    "doctor with its 1 s second look $(ratio "$(bench_median ${secs["closer doctor"]})" "$anchor")x;" \
    "peak RSS doctor ${kib["closer doctor --confirm 0"]} KiB, ss -tanp ${kib["ss -tanp"]} KiB"
[ "$failed" = 0 ]
