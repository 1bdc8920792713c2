#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the doctor's text says about where it looked and who the peers are,
# checked on real namespaces and real sockets:
#  - under `ip netns exec NAME` the header names NAME (the bind mount whose
#    inode is the namespace's), not "(current)";
#  - a FIN_WAIT2 pile whose peers are on this host says so and names the
#    process holding their CLOSE_WAIT, instead of "run closer doctor there";
#  - counts of one are singular ("1 TCP socket").
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

# 2. A namespace with one socket: "1 TCP socket".
netns_new NS1
bg LPID ip netns exec "$NS1" python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",7000)); s.listen(); time.sleep(60)'
wait_listen "$NS1" 7000
in_ns "$NS1" "$CLOSER" doctor --confirm 0 | head -1 > "$tmp/one.txt"
check header_one_socket grep -q ", 1 TCP socket via " "$tmp/one.txt"

# 3. FIN_WAIT2 whose peers are here: 7 clients close first, mkpile's server
#    keeps their CLOSE_WAIT (not polled). --pile 5 makes 7 a pile.
netns_new NS2
if mkpile "$NS2" cw-not-polled 8082 7; then
    in_ns "$NS2" "$CLOSER" doctor --confirm 0 --pile 5 --json > "$tmp/fw2.json"
    fw2() { json_get "$tmp/fw2.json" "next(f for f in d['findings'] if f['id']=='fin-wait-2-pile')$1"; }
    check_eq fw2_count "$(fw2 "['count']")" 7
    check_eq fw2_peers_on_host "$(fw2 "['facts']['peers_on_host']")" 7
    check_eq fw2_far_end "$(fw2 "['far_end_state']")" CLOSE_WAIT
    check_eq fw2_far_end_names_owner "$(fw2 "['peer_on_host']" | grep -c "held by pid $PILE_PID\b.*mkpile")" 1
    check_eq fw2_no_run_there "$(fw2 "['fix']" | grep -c 'run closer doctor there')" 0
    check_eq fw2_fix_names_owner "$(fw2 "['fix']" | grep -c 'on this host')" 1
    in_ns "$NS2" "$CLOSER" doctor --confirm 0 --pile 5 > "$tmp/fw2.txt"
    awk '/^[a-z]+ +fin-wait-2-pile/ { on = 1 } on && /^$/ { exit } on' "$tmp/fw2.txt" > "$tmp/fw2.block"
    check fw2_text_far_end grep -q 'far end  7 of 7 on this host' "$tmp/fw2.block"
fi
