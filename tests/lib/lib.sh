# SPDX-License-Identifier: MIT
# Shared helpers for integration tests (bash). Source it:
#   . "$(dirname "$0")/../lib/lib.sh"
# Verdict lines: "PASS name" / "FAIL name: why" (tests/run.sh counts them).
# Every namespace and background process made through these helpers is
# removed on exit, on failure and on Ctrl-C.
set -u
CLOSER=${CLOSER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/closer}
HELPERS=${HELPERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/helpers}
__netns_list=()
__pids=()

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${2:-}"; }
# check NAME CMD...: PASS if CMD succeeds.
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n" "command failed: $*"; fi; }
# check_eq NAME GOT WANT
check_eq() { if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

__cleanup() {
    local p ns i
    # TERM first so servers stop their children (nginx workers), then KILL.
    for p in "${__pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for i in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${__pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${__pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${__pids[@]}"; do wait "$p" 2>/dev/null; done
    for ns in "${__netns_list[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap __cleanup EXIT
trap 'exit 130' INT TERM

need_root() {
    if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root"; exit 0; fi
}

# netns_new VAR: creates a private namespace with lo up; its name goes in VAR.
netns_new() {
    local name="closer-t$$-${#__netns_list[@]}-$RANDOM"
    ip netns add "$name" || return 1
    __netns_list+=("$name")
    ip -n "$name" link set lo up
    printf -v "$1" '%s' "$name"
}

# bg VAR CMD...: starts CMD in the background, killed at exit; pid in VAR.
bg() {
    local __var=$1; shift
    "$@" &
    local pid=$!
    __pids+=("$pid")
    printf -v "$__var" '%s' "$pid"
}

# in_ns NS CMD...: runs CMD inside namespace NS.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

# wait_num SECONDS OP N CMD...: polls until the number CMD prints is OP N
# (-ge, -eq, ...); CMD runs at every poll (a function of the test works).
wait_num() {
    local limit=$1 op=$2 n=$3; shift 3
    local end=$((SECONDS + limit))
    until [ "$("$@" 2>/dev/null)" "$op" "$n" ] 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

# wait_listen NS PORT: waits (5 s) for a TCP listener on PORT inside NS.
wait_listen() {
    wait_for 5 sh -c "ip netns exec '$1' ss -Htln 'sport = :$2' | grep -q ."
}

# mkpile NS KIND PORT N: starts tests/helpers/mkpile (see its header) in NS
# and waits until the pile is in place; its pid goes in PILE_PID. Returns 1
# (after a FAIL line) when it does not get ready.
mkpile() {
    local ready
    ready=$(mktemp)
    rm -f "$ready"
    bg PILE_PID ip netns exec "$1" "$HELPERS/mkpile" "$2" "$3" "$4" "$ready"
    if ! wait_for 10 test -s "$ready"; then
        fail "pile_$2" "mkpile $2 $3 $4 did not get ready"
        rm -f "$ready"
        return 1
    fi
    rm -f "$ready"
}

# jq-free JSON queries: json_get FILE PYTHON_EXPR (d is the document)
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
