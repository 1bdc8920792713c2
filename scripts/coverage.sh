#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Line coverage of src/ by the unit tests, per folder (make coverage).
#   scripts/coverage.sh [BUILD_DIR]     default build-cov
# Builds the unit tests with gcov instrumentation in their own build directory
# (atomic counters: threaded tests raced them into values gcovr refused),
# runs them, then prints one row per folder (lines, covered, percent) and the
# total; the per-file table is left in BUILD_DIR/coverage.txt. The unit tests'
# own verdicts come first: coverage of a failing suite is still printed, and
# the exit status is the tests' (0 when every unit test passed).
set -u
cd "$(dirname "$0")/.."
build=${1:-build-cov}
command -v gcovr >/dev/null || { echo "coverage: gcovr is missing (apt-get install gcovr, or make deps)" >&2; exit 2; }
find "$build" -name '*.gcda' -delete 2>/dev/null
make -s BUILD="$build" CFLAGS="-O0 -g --coverage -fprofile-update=atomic" LDFLAGS="--coverage" unit || exit 2
# the totals line, and any failing suite with its FAIL lines
BUILD="$build" bash tests/run.sh unit | grep -E '^--- .*failed|^    FAIL|passed, [0-9]+ failed$'
rc=${PIPESTATUS[0]}
gcovr -r . --filter 'src/' --object-directory "$build" --txt "$build/coverage.txt" >/dev/null 2>&1 ||
    { echo "coverage: gcovr failed" >&2; exit 2; }
# gcovr's rows: "src/FOLDER/file.c  LINES  EXEC  PCT%  MISSING..."
awk '$1 ~ /^src\// && $2 ~ /^[0-9]+$/ {
        n = split($1, p, "/"); f = (n > 2) ? p[2] : "(main)"
        lines[f] += $2; hit[f] += $3; tl += $2; th += $3
     }
     END {
        printf "%-10s %7s %7s %6s\n", "folder", "lines", "covered", "pct"
        for (f in lines) printf "%-10s %7d %7d %5.1f%%\n", f, lines[f], hit[f], lines[f] ? 100 * hit[f] / lines[f] : 0 | "sort"
        close("sort")
        printf "%-10s %7d %7d %5.1f%%\n", "total", tl, th, tl ? 100 * th / tl : 0
     }' "$build/coverage.txt"
exit "$rc"
