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

# bench_time RUNS CMD...: prints "median_seconds peak_rss_kib" of RUNS runs
# (stdout of CMD discarded).
bench_time() {
    local runs=$1; shift
    local i out times=() rss=0 f
    f=$(mktemp)
    for ((i = 0; i < runs; i++)); do
        /usr/bin/time -o "$f" -f '%e %M' "$@" >/dev/null 2>&1
        out=$(tail -1 "$f")
        times+=("${out% *}")
        [ "${out#* }" -gt "$rss" ] && rss=${out#* }
    done
    rm -f "$f"
    printf '%s\n' "${times[@]}" | sort -g | awk -v r="$rss" '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f %d\n", m, r}'
}

# ratio A B: A/B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
