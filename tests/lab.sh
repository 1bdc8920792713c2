#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lab suite: every scenario of `closer lab run --all` is one verdict
# (PASS name / FAIL name: the failed expectations), then the harness's own
# promises: report.md + one SVG per scenario, no namespace or process left,
# Ctrl-C cleans up too.
. "$(dirname "$0")/lib/lib.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT

"$CLOSER" lab run --all --json --report "$tmp/report" >"$tmp/lab.json" 2>"$tmp/lab.err" &
LAB=$!
wait $LAB; rc=$?
python3 - "$tmp/lab.json" <<'PY' || fail lab_json "closer lab exited $rc with no readable JSON: $(head -c 300 "$tmp/lab.err")"
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["scenarios"]:
    if s["pass"]:
        print("PASS " + s["name"])
    else:
        print("FAIL %s: %s" % (s["name"], "; ".join(s["failures"])))
PY
# The whole run's JSON against schemas/closer.lab.schema.json (every
# scenario's measurement records: snake_case names, known units).
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
    out=$(/usr/bin/python3 "$(dirname "$0")/lib/validate_json.py" "$(dirname "$0")/../schemas" "$tmp/lab.json" 2>&1)
    check_eq lab_json_schema "$out" "ok 1"
fi
want=$("$CLOSER" lab list | wc -l)
check_eq lab_exit_status "$rc" "$(python3 -c "import json;print(0 if json.load(open('$tmp/lab.json'))['failed']==0 else 1)" 2>/dev/null)"
check_eq lab_report_sections "$(grep -c '^## ' "$tmp/report/report.md" 2>/dev/null)" "$want"
check_eq lab_report_plots "$(ls "$tmp/report"/*.svg 2>/dev/null | wc -l)" "$want"
check lab_plots_are_svg python3 -c "
import glob, xml.dom.minidom as m
fs = glob.glob('$tmp/report/*.svg'); assert fs
for f in fs: assert m.parse(f).documentElement.tagName == 'svg'"
# Each plot has its samples beside it, and the plot says what the samples say:
# the legend's peak per state equals the CSV's column maximum.
check_eq lab_report_csvs "$(ls "$tmp/report"/*.csv 2>/dev/null | wc -l)" "$want"
check lab_plot_matches_csv python3 -c "
import csv, glob, re
for svg in glob.glob('$tmp/report/*.svg'):
    text = open(svg).read()
    assert 'sockets' in text and 'time since the namespaces were up (s)' in text, svg
    rows = list(csv.DictReader(open(svg[:-4] + '.csv')))
    peaks = {}
    for r in rows:
        for k, v in r.items():
            if k not in ('host', 't_s'):
                peaks[(r['host'], k)] = max(peaks.get((r['host'], k), 0), int(v))
    legend = re.findall(r'>([A-Z_0-9]+) \(max (\d+)\)<', text)
    want = sorted((k[1], v) for k, v in peaks.items() if v)
    got = sorted((s, int(n)) for s, n in legend)
    assert got == want, (svg, got, want)"
check lab_events_marked sh -c "grep -q 'keepalive-timeout (2 s) due' '$tmp/report/idle-timeout.svg' && grep -q '^3\. .*keepalive-timeout' '$tmp/report/report.md'"
# The setup block is a script: run idle-timeout's and see its server listen.
awk '/^## idle-timeout/{f=1} f&&/^```sh/{s=1;next} s&&/^```/{exit} s' "$tmp/report/report.md" >"$tmp/setup.sh"
mkdir -p "$tmp/bin"; ln -sf "$CLOSER" "$tmp/bin/closer"
setup_ns=$(grep -o 'ip netns add [^ ]*' "$tmp/setup.sh" | awk '{print $4}')
PATH="$tmp/bin:$PATH" bash -e "$tmp/setup.sh" >/dev/null 2>&1 &
setup_pid=$!
srv_ns=$(echo "$setup_ns" | tail -1)
if wait_for 5 sh -c "ip netns exec '$srv_ns' ss -Htln 'sport = :8080' | grep -q ."; then pass lab_setup_runnable; else fail lab_setup_runnable "$(cat "$tmp/setup.sh")"; fi
wait $setup_pid 2>/dev/null
for n in $setup_ns; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$n" 2>/dev/null; done
check_eq lab_no_namespace_left "$(ip netns list | grep -c "closer-lab-$LAB-")" 0

# Ctrl-C in the middle of a scenario: the namespaces and serve go away too.
"$CLOSER" lab run tw-length >"$tmp/int.out" 2>&1 &
LAB=$!
wait_for 5 sh -c "ip netns list | grep -q closer-lab-$LAB-" || fail lab_interrupt "scenario did not start"
sleep 1
kids=$(pgrep -P $LAB)
kill -INT $LAB; wait $LAB; rc=$?
check_eq lab_interrupt_exit "$rc" 2
check_eq lab_interrupt_no_namespace "$(ip netns list | grep -c "closer-lab-$LAB-")" 0
left=0; for k in $kids; do kill -0 "$k" 2>/dev/null && left=$((left + 1)); done
check_eq lab_interrupt_no_process "$left ($(echo $kids | wc -w) children seen)" "0 ($(echo $kids | wc -w) children seen)"

"$CLOSER" lab run no-such 2>/dev/null; check_eq lab_unknown_scenario_exit $? 2
"$CLOSER" lab --bogus 2>/dev/null; check_eq lab_bad_flag_exit $? 2
check lab_help sh -c "'$CLOSER' lab --help | grep -q 'closer lab run'"
