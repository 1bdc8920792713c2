#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the doctor's text says about where it looked, checked on real
# namespaces: under `ip netns exec NAME` the header names NAME (the bind
# mount whose inode is the namespace's), not "(current)".
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT

# 1. The header under ip netns exec, and the JSON's netns.
netns_new NS
in_ns "$NS" "$CLOSER" doctor --confirm 0 > "$tmp/quiet.txt"
check_eq header_names_netns "$(head -1 "$tmp/quiet.txt" | sed 's/, [0-9]* TCP.*//')" \
    "closer doctor — network namespace $NS"
in_ns "$NS" "$CLOSER" doctor --confirm 0 --json > "$tmp/quiet.json"
check_eq json_names_netns "$(json_get "$tmp/quiet.json" "d['netns']")" "$NS"
# -N keeps naming what was asked for.
"$CLOSER" doctor -N "$NS" --confirm 0 | head -1 > "$tmp/n.txt"
check header_with_N grep -q "network namespace $NS, " "$tmp/n.txt"
# A namespace with no /run/netns name stays "(current)".
unshare --net "$CLOSER" doctor --confirm 0 | head -1 > "$tmp/anon.txt"
check header_anonymous grep -q "network namespace (current), " "$tmp/anon.txt"
# A replay was not taken here: no name is guessed for it.
in_ns "$NS" "$CLOSER" doctor --confirm 0 --record "$tmp/rec.dump" > /dev/null
in_ns "$NS" "$CLOSER" doctor --replay "$tmp/rec.dump" | head -1 > "$tmp/replay.txt"
check header_replay_not_named grep -q "network namespace (current), " "$tmp/replay.txt"
