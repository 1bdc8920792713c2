#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The timer benchmark: COUNT timers (default 1M) in closer's hierarchical
# wheel (src/loop/wheel.c), beside two anchors measured in the same run on
# the same deadlines: the far-list wheel it replaced and a binary heap
# (bench/timers.c says how). Prints per store: arm and re-arm cost, the
# worst and p99 work of one loop wake-up (thread CPU time, virtual clock),
# CPU in the idle minute before a burst of deadlines, CPU per fired timer;
# ratios against the anchors; then the real loop (epoll, wall clock) idle
# with COUNT timers armed. Goals: worst tick <= 1 ms at 1M timers, ~0 CPU
# while idle. No root, no network.
#   bench/timers.sh [COUNT] [RUNS] [IDLE_SECONDS]   (defaults 1000000, 3, 5)
. "$(dirname "$0")/lib.sh"
COUNT=${1:-1000000} RUNS=${2:-3} IDLE=${3:-5}
mkdir -p "$ROOT/build/bench"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$ROOT/src" -I"$ROOT/bench" \
    -o "$ROOT/build/bench/timers" "$ROOT/bench/timers.c" "$ROOT/src/loop/wheel.c" \
    "$ROOT/src/loop/loop.c" || exit 2
echo "== timers: $COUNT timers, wheel vs far list (old) vs binary heap, median of $RUNS runs"
"$ROOT/build/bench/timers" sim "$COUNT" "$RUNS" || exit 1
echo
"$ROOT/build/bench/timers" real "$COUNT" "$IDLE" || exit 1
