#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: runs every bench/*.sh except this file and lib.sh, in name
# order, then repeats a summary: each bench's status, duration and the
# "summary:" lines it printed (bench_summary in lib.sh). Each bench prints
# its own table of medians and ratios against the anchor it measures in the
# same run.
#   bench/run.sh [NAME...]     (NAME: states, serve, ...; default: all)
# Exit 0 when every bench ran, 1 when one failed.
cd "$(dirname "$0")/.." || exit 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
benches=()
if [ $# -gt 0 ]; then
    for n in "$@"; do benches+=("bench/${n%.sh}.sh"); done
else
    for b in bench/*.sh; do
        case $(basename "$b") in run.sh|lib.sh) continue ;; esac
        benches+=("$b")
    done
fi
rc=0 summary=()
for b in "${benches[@]}"; do
    start=$SECONDS
    bash "$b" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    verdict=ok
    [ "$status" -ne 0 ] && verdict="FAILED (exit $status)" rc=1
    summary+=("$(basename "$b" .sh): $verdict in $((SECONDS - start)) s")
    while IFS= read -r line; do summary+=("    ${line#summary: }"); done < <(grep '^summary: ' "$log")
    echo
done
echo "== bench summary"
printf '%s\n' "${summary[@]}"
exit $rc
