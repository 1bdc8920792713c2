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
failed=0
bench_rounds "$NS" "$RUNS" "${rows[@]}" || failed=1
bench_table "$NS" "ss -tanp" "${rows[@]}"
anchor=$(bench_median_of "ss -tanp")
x_anchor() { ratio "$(bench_median_of "$1")" "$anchor"; }
doc_x=$(x_anchor "closer doctor --confirm 0")
verdict=$(awk -v x="$doc_x" 'BEGIN { print (x != "n/a" && x <= 1.0) ? "met" : "MISSED" }')
[ -n "${BENCH_FAILED["closer doctor --confirm 0"]:-}" ] && verdict=FAILED
echo "goal: closer doctor --confirm 0 <= 1.00x ss -tanp: $verdict (${doc_x}x)"
bench_summary "closewait: $cw owned CLOSE_WAIT; closer doctor --confirm 0 ${doc_x}x ss -tanp" \
    "(goal <= 1x: $verdict), states -p $(x_anchor "closer states -p")x," \
    "doctor with its 1 s second look $(x_anchor "closer doctor")x;" \
    "peak RSS doctor ${BENCH_PEAK_KIB["closer doctor --confirm 0"]} KiB, ss -tanp ${BENCH_PEAK_KIB["ss -tanp"]} KiB"
[ "$failed" = 0 ]
