#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test and prints "N passed, N failed" last. Each test program
# prints "PASS name" / "FAIL name: why" lines; a program that dies without
# printing its verdicts counts as one failure.
#   tests/run.sh [house|unit|integration|lab|unit/test_X|integration/X|house/X]...
# (default: all). An unknown name is a failure, never an empty pass.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export CLOSER=${CLOSER:-$PWD/closer} HELPERS=$PWD/$BUILD/helpers
passed=0 failed=0
log=$(mktemp); trap 'rm -f "$log"' EXIT

run_one() {  # label, command...
    local label=$1; shift
    local start=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$? p f
    p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $label: exited $rc without a verdict" >>"$log"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        echo "--- $label: $p passed, $f failed ($((SECONDS - start))s)"
        sed 's/^/    /' "$log" | tail -n 60
    else
        echo "--- $label: $p passed ($((SECONDS - start))s)"
    fi
}

suites=${*:-house unit integration lab}
for s in $suites; do
    case $s in
    house)  # the tree's own rules: layering, commit style (no root, no build needed)
        for t in tests/house/*.sh; do
            [ -f "$t" ] && run_one "house/$(basename "$t" .sh)" bash "$t"
        done ;;
    house/*)
        if [ -f "tests/$s.sh" ]; then run_one "$s" bash "tests/$s.sh"
        else echo "FAIL $s: no such house test"; failed=$((failed + 1)); fi ;;
    unit)
        for t in "$BUILD"/tests/test_*; do
            [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
        done ;;
    integration)
        for t in tests/integration/*.sh; do
            [ -f "$t" ] && run_one "integration/$(basename "$t" .sh)" bash "$t"
        done ;;
    lab)
        if [ -f tests/lab.sh ]; then run_one lab bash tests/lab.sh; fi ;;
    unit/*)
        if [ -x "$BUILD/tests/${s#unit/}" ]; then run_one "$s" "$BUILD/tests/${s#unit/}"
        else echo "FAIL $s: no such unit test binary in $BUILD/tests"; failed=$((failed + 1)); fi ;;
    integration/*)
        if [ -f "tests/$s.sh" ]; then run_one "$s" bash "tests/$s.sh"
        else echo "FAIL $s: no such integration test"; failed=$((failed + 1)); fi ;;
    *)
        echo "FAIL $s: unknown suite (house, unit, integration, lab, unit/test_X, integration/X, house/X)"
        failed=$((failed + 1)) ;;
    esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
