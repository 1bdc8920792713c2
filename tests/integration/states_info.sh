#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer states -i (tcp_info) and -m (socket memory) against ss on the same
# idle sockets in a private namespace: the line under each socket says what
# ss's says, item for item, less the idle times (lastsnd/lastrcv/lastack,
# ms since: they move between the two runs) and the congestion control's own
# block (bbr:(...), not asked for). And ss's state spelling from closer's
# with the sed one-liner docs/states.md gives.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
netns_new NS
# A listener, two idle connections that exchanged data (one with 990 bytes
# unread), a TIME_WAIT (no detail: a minisocket).
bg PY ip netns exec "$NS" python3 -c "
import socket, time
l = socket.socket(); l.bind(('127.0.0.1', 7000)); l.listen()
c = socket.create_connection(('127.0.0.1', 7000)); a, _ = l.accept()
c.sendall(b'x' * 1000); a.recv(10); a.sendall(b'y' * 300); c.recv(300)
c2 = socket.create_connection(('127.0.0.1', 7000)); a2, _ = l.accept(); c2.close(); a2.close()
open('$tmp/ready', 'w').write('1'); time.sleep(60)"
wait_for 10 test -s "$tmp/ready" || fail setup "the sockets did not come up"
sleep 0.3 # the last ACKs land: the two runs see the same counters

# "LOCAL PEER<TAB>DETAIL" per socket, volatile items dropped.
norm() {
    awk '/^\t/ { sub(/^\t/, ""); print key "\t" $0; next }
         { n = NF; key = ($1 ~ /^[A-Z]/ && $2 ~ /^[0-9]+$/) ? $4 " " $5 : $3 " " $4 }' |
        sed -E 's/ (lastsnd|lastrcv|lastack):[0-9]+//g; s/ (bbr|dctcp):\([^)]*\)//g; s/ +$//' | sort
}
ip netns exec "$NS" ss -tanimH | norm > "$tmp/ss"
ip netns exec "$NS" "$CLOSER" states -imH | norm > "$tmp/closer"
check_eq im_lines "$(wc -l < "$tmp/closer")" "$(wc -l < "$tmp/ss")"
check_eq im_same_as_ss "$(diff "$tmp/ss" "$tmp/closer")" ""
check im_has_skmem_and_rtt grep -q 'skmem:(r[0-9]*,rb[0-9]*,.*) .*wscale:.* rtt:[0-9.]*/' "$tmp/closer"
check im_unread_bytes_in_skmem grep -q '127.0.0.1:7000 127.0.0.1:[0-9]*	 skmem:(r[1-9]' "$tmp/closer"
ip netns exec "$NS" ss -tanioH | norm > "$tmp/ss_o"
ip netns exec "$NS" "$CLOSER" states -ioH | norm > "$tmp/closer_o"
check_eq io_options_as_ss "$(diff "$tmp/ss_o" "$tmp/closer_o")" ""
# A TIME_WAIT minisocket has no tcp_info: an empty line, as ss prints.
check_eq tw_detail_empty "$(ip netns exec "$NS" "$CLOSER" states -iH state time-wait | sed -n 2p)" "$(printf '\t')"
"$CLOSER" states -i --json >/dev/null 2>&1; check_eq info_json_refused $? 2

# ss's state names: the sed of docs/states.md turns closer's into ss's.
ss_names() { sed -E 's/^(SYN|TIME|CLOSE|LAST)_/\1-/; s/^FIN_WAIT([12])/FIN-WAIT-\1/'; }
check_eq ss_spelling "$(ip netns exec "$NS" "$CLOSER" states -H | awk '{print $1}' | ss_names | sort | uniq -c)" \
    "$(ip netns exec "$NS" ss -tanH | awk '{print $1}' | sort | uniq -c)"
check ss_spelling_has_time_wait bash -c "ip netns exec '$NS' '$CLOSER' states -H | awk '{print \$1}' | sed -E 's/^(SYN|TIME|CLOSE|LAST)_/\1-/' | grep -qx TIME-WAIT"
: "$PY"
