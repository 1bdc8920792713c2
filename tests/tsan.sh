#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make tsan: the serve, load and exporter tests against a ThreadSanitizer
# build (build-tsan/closer), plus the engine's unit test. Every report
# goes to a file (TSAN_OPTIONS log_path), whatever the test does with
# stderr; any report fails the run. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-tsan}
logs=$(mktemp -d); trap 'rm -rf "$logs"' EXIT
export CLOSER=$PWD/$BUILD/closer HELPERS=$PWD/build/helpers
export TSAN_OPTIONS="log_path=$logs/tsan second_deadlock_stack=1"
passed=0 failed=0
run() {
    local out rc
    out=$("$@" 2>&1); rc=$?
    passed=$((passed + $(grep -c '^PASS ' <<<"$out"))); failed=$((failed + $(grep -c '^FAIL ' <<<"$out")))
    grep '^FAIL ' <<<"$out"
    [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out" && { echo "FAIL $*: exited $rc"; failed=$((failed + 1)); }
}
run "$BUILD/tests/test_server_conn"
run "$BUILD/tests/test_loop"
for t in tests/integration/serve_*.sh tests/integration/exporter_*.sh tests/integration/load_*.sh; do
    echo "--- $t"
    run bash "$t"
done
reports=$(grep -l 'WARNING: ThreadSanitizer' "$logs"/tsan* 2>/dev/null | wc -l)
if [ "$reports" -gt 0 ]; then
    echo "FAIL thread_sanitizer: $reports process(es) reported (first below)"
    grep -l 'WARNING: ThreadSanitizer' "$logs"/tsan* | head -1 | xargs head -40
    failed=$((failed + 1))
else
    echo "PASS thread_sanitizer: no report"; passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
