#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer states' filter language against ss's, differentially: a table with
# LISTEN, ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1/2, TIME-WAIT, CLOSE-WAIT and
# LAST-ACK over IPv4, IPv6 and v4-mapped IPv6 (tests/lib/sstable.py), then
# SSFILTER_N (600) generated filters (tests/lib/ssfilter_diff.py: state and
# exclude words, and/or/juxtaposition mixed, not, parentheses, every port
# operator, prefixes down to /0), each given to `ss -Htan` and to
# `closer states -H`: the same rows, or the filter fails. Before closer read
# and/or left to right, 113 of 358 such filters differed.
. "$(dirname "$0")/../lib/lib.sh"
need_root
command -v nft >/dev/null || { echo "SKIP: needs nft"; exit 0; }
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
lib=$(cd "$(dirname "$0")/../lib" && pwd)
N=${SSFILTER_N:-600} SEED=${SSFILTER_SEED:-24}
# The table must not move under the comparison (TIME-WAIT lasts 60 s,
# SYN-RECV about as long): each round builds a fresh one in a fresh
# namespace and compares for 40 s; the next round goes on from there.
# 600 filters take one round on a quiet 2-core machine, up to 12 rounds.
done_n=0 compared=0 refused=0 differ=0 mixed=0 round=0
while [ "$done_n" -lt "$N" ] && [ $round -lt 12 ]; do
    round=$((round + 1))
    netns_new NS
    rm -f "$tmp/ready"
    bg TABLE ip netns exec "$NS" /usr/bin/python3 "$lib/sstable.py" "$tmp/ready"
    wait_for 20 test -e "$tmp/ready" || { fail table_ready "sstable.py did not get ready"; break; }
    if [ $round = 1 ]; then
        states=$(ip netns exec "$NS" ss -Htan | awk '{print $1}' | sort -u | tr '\n' ' ')
        check_eq table_has_every_state "$states" \
            "CLOSE-WAIT ESTAB FIN-WAIT-1 FIN-WAIT-2 LAST-ACK LISTEN SYN-RECV SYN-SENT TIME-WAIT "
    fi
    out=$(ip netns exec "$NS" timeout 55 /usr/bin/python3 "$lib/ssfilter_diff.py" "$CLOSER" "$N" "$SEED" \
        "$done_n")
    echo "$out" | grep '^DIFF\|^  ' | head -20
    set -- $(echo "$out" | tail -1)
    [ "${1:-}" = compared ] || { fail diff_ran "round $round: $(echo "$out" | tail -1)"; break; }
    compared=$((compared + $2)) refused=$((refused + $4)) differ=$((differ + $6)) mixed=$((mixed + $8))
    done_n=${10}
    kill "$TABLE" 2>/dev/null; wait "$TABLE" 2>/dev/null
    ip netns del "$NS"
done
echo "# $round round(s): $compared compared, $refused refused by ss, $differ differ, $mixed mix and/or"
check_eq filters_agree_with_ss "$differ" 0
check_eq every_filter_generated "$done_n" "$N"
check most_filters_compared test "$compared" -ge $((N * 3 / 4))
