#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bytes that are not UTF-8 in a real process's name (set with prctl by a
# Python server; the kernel cuts comm at 15 bytes, here mid-character) and
# the characters each format escapes (quote, backslash, newline). Referees:
# promtool parses /metrics; Python's strict UTF-8 decoder and json parse the
# JSON of states and doctor; the name must read as Python's
# bytes.decode("utf-8", "replace") does (one U+FFFD per ill-formed subpart).
. "$(dirname "$0")/../lib/lib.sh"
need_root
PY=/usr/bin/python3
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)

netns_new NS
# c \n \xff " \ 日本語 and the first byte of サ: 15 bytes, as the kernel keeps.
NAME_HEX=630aff225ce697a5e69cace8aa9ee382b5
bg SRV ip netns exec "$NS" "$PY" "$ROOTDIR/tests/lib/oddname_server.py" "$NAME_HEX" 8090 3 "$tmp/ready"
# And "x日本語サー" as the kernel cuts it: the last character's first 2 bytes.
NAME2_HEX=78e697a5e69cace8aa9ee382b5e383bc
bg SRV2 ip netns exec "$NS" "$PY" "$ROOTDIR/tests/lib/oddname_server.py" "$NAME2_HEX" 8091 2 "$tmp/ready2"
wait_for 10 test -s "$tmp/ready" || fail oddname_server_ready "no pile"
wait_for 10 test -s "$tmp/ready2" || fail oddname_server2_ready "no pile"
PID=$(cat "$tmp/ready") PID2=$(cat "$tmp/ready2")
check_eq kernel_keeps_15_bytes "$(od -An -tx1 "/proc/$PID/comm" | tr -d ' \n')" \
    "${NAME_HEX:0:30}0a"

# The name as a referee decodes it, and as the exposition format escapes it.
want=$("$PY" -c 'import sys; print(bytes.fromhex(sys.argv[1])[:15].decode("utf-8","replace"))' "$NAME_HEX")
want_label=$("$PY" -c 'import sys
s = bytes.fromhex(sys.argv[1])[:15].decode("utf-8", "replace")
print(s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))' "$NAME_HEX")

# /metrics: promtool accepts it, and the CLOSE_WAIT series names the process.
bg EXP ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9339 --cache 0ms
wait_listen "$NS" 9339 || fail exporter_listens "no listener on 9339"
ip netns exec "$NS" curl -s --max-time 5 http://127.0.0.1:9339/metrics > "$tmp/metrics"
check promtool_accepts_odd_name promtool check metrics < "$tmp/metrics"
check metrics_are_utf8 "$PY" -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$tmp/metrics"
check_eq close_wait_series_names_process \
    "$(grep -F "closer_close_wait_sockets{comm=\"$want_label\"," "$tmp/metrics")" \
    "closer_close_wait_sockets{comm=\"$want_label\",owner=\"process\"} 3"
check_eq cut_character_is_one_replacement \
    "$(grep -F "closer_close_wait_sockets{comm=\"x日本語サ" "$tmp/metrics")" \
    "closer_close_wait_sockets{comm=\"x日本語サ"$'\xef\xbf\xbd'"\",owner=\"process\"} 2"

# JSON: strict UTF-8, strict json, and the name as the referee decodes it.
strict_json() {  # FILE PYTHON_EXPR(d) WANT
    "$PY" -c 'import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
got = eval(sys.argv[2])
sys.exit(0 if got == sys.argv[3] else "got %r, want %r" % (got, sys.argv[3]))' "$@"
}
ip netns exec "$NS" "$CLOSER" states -p --json --state close-wait > "$tmp/states.json"
check states_json_names_process strict_json "$tmp/states.json" \
    "[o['comm'] for s in d['sockets'] for o in s.get('owners', []) if o['pid'] == $PID][0]" "$want"
ip netns exec "$NS" "$CLOSER" doctor --json > "$tmp/doctor.json"
check doctor_json_names_process strict_json "$tmp/doctor.json" \
    "[f['comm'] for f in d['findings'] if f['id'].startswith('close-wait-') and f['pid'] == $PID][0]" "$want"
check doctor_json_title_is_utf8 strict_json "$tmp/doctor.json" \
    "str([f['title'].count('\ufffd') for f in d['findings'] if f['pid'] == $PID])" "[2]"
