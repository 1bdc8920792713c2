# SPDX-License-Identifier: MIT
# Shared helpers for benchmarks (bash). Every namespace and background
# process made here is removed on exit.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLOSER=${CLOSER:-$ROOT/closer}
__bench_ns=() __bench_pids=()
__bench_cleanup() {
    local p
    for p in "${__bench_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${__bench_ns[@]}"; do ip netns del "$p" 2>/dev/null; done
}
trap __bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_need_root() { [ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)"; exit 2; }; }

# bench_netns VAR: a fresh namespace with lo up.
bench_netns() {
    local name="closer-bench-$$-${#__bench_ns[@]}"
    ip netns add "$name" && ip -n "$name" link set lo up || exit 2
    __bench_ns+=("$name")
    printf -v "$1" '%s' "$name"
}

bench_bg() { "$@" & __bench_pids+=($!); }

# bench_build_c NAME: compiles bench/NAME.c to build/bench/NAME.
bench_build_c() {
    mkdir -p "$ROOT/build/bench"
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$ROOT/build/bench/$1" "$ROOT/bench/$1.c" || exit 2
}

# bench_usec: now in microseconds (bash's EPOCHREALTIME always has 6 decimals).
bench_usec() { local t=$EPOCHREALTIME; echo "${t/[.,]/}"; }

# bench_median V...: the median of the values (mean of the middle two when even).
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
        if (NR == 0) { print "n/a"; exit }
        printf "%.3f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }'
}

# bench_once NS CMD...: runs CMD once (output discarded), inside namespace NS
# unless NS is "-". Sets BENCH_S (wall seconds, including the ip netns exec
# that every row pays alike), BENCH_KIB (peak RSS of CMD itself, measured
# inside the namespace by /usr/bin/time -f %M) and BENCH_RC (CMD's status).
bench_once() {
    local ns=$1 f t0 t1; shift
    f=$(mktemp)
    t0=$(bench_usec)
    if [ "$ns" = - ]; then
        /usr/bin/time -o "$f" -f %M "$@" >/dev/null 2>&1
    else
        ip netns exec "$ns" /usr/bin/time -o "$f" -f %M "$@" >/dev/null 2>&1
    fi
    BENCH_RC=$?
    t1=$(bench_usec)
    BENCH_S=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.4f", d / 1e6 }')
    BENCH_KIB=$(tail -1 "$f")
    rm -f "$f"
}

# bench_time RUNS CMD...: prints "median_seconds peak_rss_kib" of RUNS runs
# (stdout of CMD discarded).
bench_time() {
    local runs=$1 i times=() rss=0; shift
    for ((i = 0; i < runs; i++)); do
        bench_once - "$@"
        times+=("$BENCH_S")
        [ "${BENCH_KIB:-0}" -gt "$rss" ] 2>/dev/null && rss=$BENCH_KIB
    done
    echo "$(bench_median "${times[@]}") $rss"
}

# bench_rounds NS RUNS ROW...: RUNS rounds of every ROW (a command line;
# "closer" stands for $CLOSER), interleaved so that drift hits every row
# alike, each inside NS (a row ending in "-N NAME" runs outside: closer
# enters the namespace itself). Fills BENCH_SECS[ROW] (the samples),
# BENCH_PEAK_KIB[ROW] (peak RSS) and BENCH_FAILED[ROW] (the exit status of a
# failed run: doctor exits 1 when it has warnings, 2 or more is a failure);
# returns 1 when a row failed.
bench_rounds() {
    local ns=$1 runs=$2 r row where ok_rc failed=0 argv; shift 2
    declare -gA BENCH_SECS=() BENCH_PEAK_KIB=() BENCH_FAILED=()
    for ((r = 0; r < runs; r++)); do
        for row in "$@"; do
            read -ra argv <<<"$row"
            where=$ns
            [ "${argv[0]}" = closer ] && argv[0]=$CLOSER
            [ "${argv[0]}" = closer-base ] && argv[0]=$CLOSER_BASE
            [ "${#argv[@]}" -ge 2 ] && [ "${argv[-2]}" = -N ] && where=-
            bench_once "$where" "${argv[@]}"
            BENCH_SECS[$row]+=" $BENCH_S"
            [ "${BENCH_KIB:-0}" -gt "${BENCH_PEAK_KIB[$row]:-0}" ] && BENCH_PEAK_KIB[$row]=$BENCH_KIB
            ok_rc=0
            [ "${argv[1]:-}" = doctor ] && ok_rc=1
            [ "$BENCH_RC" -gt "$ok_rc" ] && BENCH_FAILED[$row]=$BENCH_RC failed=1
        done
    done
    [ "$failed" = 0 ]
}

# bench_median_of ROW: the median of bench_rounds' samples of ROW.
# shellcheck disable=SC2086 # word splitting of the samples is wanted
bench_median_of() { bench_median ${BENCH_SECS[$1]}; }

# bench_table NS ANCHOR ROW...: bench_rounds' results, one line per ROW:
# median seconds, ratio to ANCHOR's median, peak RSS; NS shown as "NS".
bench_table() {
    local ns=$1 anchor=$2 row t label anchor_t; shift 2
    anchor_t=$(bench_median_of "$anchor")
    printf '%-36s %9s %9s %13s\n' command median_s "x ${anchor// /}" peak_rss_KiB
    for row in "$@"; do
        t=$(bench_median_of "$row")
        label=$row
        [ "$row" = "$anchor" ] && label="$anchor (anchor)"
        [ -n "${BENCH_FAILED[$row]:-}" ] && label="$label (FAILED, exit ${BENCH_FAILED[$row]})"
        [ "$ns" != - ] && label=${label/$ns/NS}
        printf '%-36s %9s %9s %13s\n' "$label" "$t" "$(ratio "$t" "$anchor_t")" \
            "${BENCH_PEAK_KIB[$row]}"
    done
}

# bench_summary TEXT: one line that bench/run.sh repeats in its summary.
bench_summary() { echo "summary: $*"; }

# ratio A B: A/B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
