#!/usr/bin/env bash
# make bench: runs every bench/*.sh (except this file and lib.sh) in order.
# Each prints its own table of medians and ratios against the anchor it
# measures in the same run.
cd "$(dirname "$0")/.." || exit 2
rc=0
for b in bench/*.sh; do
    case $(basename "$b") in run.sh|lib.sh) continue ;; esac
    bash "$b" || { echo "bench: $b failed"; rc=1; }
    echo
done
exit $rc
