#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real process names itself with prctl(PR_SET_NAME) so that its name
# would drive a terminal: an OSC sequence (ESC ] 2 ; X BEL sets the window
# title), a C1 CSI (U+009B, which some terminals take as ESC [) and a
# character the kernel cuts at 15 bytes. It holds CLOSE_WAIT sockets, then
# closes them. Every text output that names it (doctor, states -p, top's
# screen under a pty, trace's lines and summary) must carry no ESC byte from
# the name and no C1 control: the name reads escaped (\x1b]2;X\x07...), its
# valid UTF-8 as is.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PY=/usr/bin/python3
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)

# ESC ] 2 ; X BEL | C2 9B 2 J | x | 日 | first 2 bytes of 日 (cut at 15)
NAME_HEX=1b5d323b5807c29b324a78e697a5e697
ESCAPED='\x1b]2;X\x07\xc2\x9b2Jx日\xe6'
netns_new NS
bg SRV ip netns exec "$NS" "$PY" "$ROOTDIR/tests/lib/oddname_server.py" "$NAME_HEX" 8095 3 "$tmp/ready"
wait_for 10 test -s "$tmp/ready" || fail oddname_server_ready "no pile"
PID=$(cat "$tmp/ready")
check_eq kernel_keeps_15_bytes "$(od -An -tx1 "/proc/$PID/comm" | tr -d ' \n')" "${NAME_HEX:0:30}0a"

# no_terminal_bytes FILE [WANT]: no ESC byte at all (text without a TTY has
# no colour), no BEL, no C1 control, and the name as it should read.
no_terminal_bytes() {
    "$PY" - "$1" "${2:-$ESCAPED}" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
want = sys.argv[2].encode()
bad = [x for x in (b"\x1b", b"\xc2\x9b", b"\x07") if x in b]
sys.exit("terminal bytes %r in the output" % bad if bad else
         None if want in b else "the escaped name %r is not in the output" % want)
PY
}
ip netns exec "$NS" "$CLOSER" doctor --confirm 0 > "$tmp/doctor.txt"
check doctor_text_escaped no_terminal_bytes "$tmp/doctor.txt"
check_eq doctor_text_names_it "$(grep -c "held by pid $PID (" "$tmp/doctor.txt")" 1
ip netns exec "$NS" "$CLOSER" states -p --state close-wait > "$tmp/states.txt"
check states_p_text_escaped no_terminal_bytes "$tmp/states.txt"
check_eq states_p_rows "$(grep -c "pid=$PID,comm=" "$tmp/states.txt")" 3
# JSON is for programs: the name as Python's decoder reads it (U+FFFD for
# the cut character), escapes left to the JSON encoder.
ip netns exec "$NS" "$CLOSER" states -p --state close-wait --json > "$tmp/states.json"
check_eq states_json_name_decoded "$("$PY" -c 'import json,sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
got = {o["comm"] for s in d["sockets"] for o in s.get("owners", [])}
want = bytes.fromhex(sys.argv[2])[:15].decode("utf-8", "replace")
print(got == {want})' "$tmp/states.json" "$NAME_HEX")" True

# top's screen in a pseudo-terminal (script): top draws with escapes of its
# own, so the check is for the name's: no OSC (ESC ]), no C1 CSI; the
# process table shows the escaped name, cut to its 16-column field.
(sleep 1.5; printf q) | ip netns exec "$NS" script -qfec "$CLOSER top -i 300ms" /dev/null > "$tmp/top.raw" 2>&1
check_eq top_screen_drawn "$(grep -c "CLOSE_WAIT" "$tmp/top.raw" | awk '{print ($1 > 0)}')" 1
check_eq top_screen_no_name_escapes "$("$PY" -c 'import sys
b = open(sys.argv[1], "rb").read()
print([x for x in (b"\x1b]", b"\xc2\x9b", b"\x07") if x in b], b"\\x1b]2;X\\x07" in b)' "$tmp/top.raw")" "[] True"

# trace: the process closes its CLOSE_WAIT sockets (SIGUSR1: close() in its
# own context, its name still set): the lines and the by-process summary name it, escaped (the
# connections were made before the trace: --all-netns places them).
if ip netns exec "$NS" "$CLOSER" trace --all-netns -d 2s > "$tmp/trace.txt" 2>"$tmp/trace.err" & TP=$!; sleep 0.6; then
    kill -USR1 "$PID"
    wait $TP; trc=$?
    if [ $trc -eq 0 ]; then
        # (trace keeps the comm's bytes as the kernel gave them: escaped
        # here as everywhere, U+FFFD in its JSON)
        check trace_text_escaped no_terminal_bytes "$tmp/trace.txt"
        check_eq trace_lines_name_it "$(grep -cF "$PID/\x1b]2;X\x07\xc2\x9b2J" "$tmp/trace.txt")" 3
        check_eq trace_summary_names_it "$(grep -cF "$PID \x1b]2;X\x07\xc2\x9b2J" "$tmp/trace.txt")" 1
    else
        echo "SKIP trace: $(head -c 200 "$tmp/trace.err")"
    fi
fi
