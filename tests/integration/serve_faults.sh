#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each of closer serve's fault modes leaves the CLOSE_WAIT class that
# closer doctor names: the two halves of closer checking each other, with
# ss as the referee for the CLOSE_WAIT count.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
PORT=8080 N=5

for spec in listener-not-polled:close-wait-unaccepted no-accept:close-wait-unaccepted \
            not-registered:close-wait-not-polled no-close:close-wait-not-closed; do
    fault=${spec%%:*} want=${spec#*:}
    netns_new NS
    bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --return 200 ok --fault "$fault" 2>"$tmp/$fault.log"
    wait_listen "$NS" $PORT || { fail "$fault" "server did not start"; continue; }
    # N clients connect and close without a request: their FIN reaches a
    # server that, by the fault, never closes.
    ip netns exec "$NS" python3 -c "
import socket,time
cs=[socket.create_connection(('127.0.0.1',$PORT)) for _ in range($N)]
time.sleep(0.2)
for c in cs: c.close()
time.sleep(0.3)"
    check_eq "${fault}_ss_close_wait" "$(ip netns exec "$NS" ss -Htan state close-wait | wc -l)" $N
    ip netns exec "$NS" "$CLOSER" doctor --json > "$tmp/$fault.json"
    got=$(json_get "$tmp/$fault.json" "[(f['id'], f['count'], f['port'], f['pid']) for f in d['findings'] if f['id'].startswith('close-wait')]")
    check_eq "${fault}_doctor_names_it" "$got" "[('$want', $N, $PORT, $SPID)]"
    check "${fault}_loud_in_log" grep -q "TEST-ONLY FAULT MODE '$fault'" "$tmp/$fault.log"
done
check fault_in_help sh -c "'$CLOSER' serve --help | grep -q 'TEST ONLY'"
"$CLOSER" serve --listen 127.0.0.1:1 --return 200 x --fault bogus 2>/dev/null; check_eq bad_fault_exit $? 2
