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
check_eq lab_no_namespace_left "$(ip netns list | grep -c "closer-lab-$LAB-")" 0

# Every setup block is a script: run each as printed (all at once, each in
# its own namespaces, in the background while the Ctrl-C test runs), then
# compare what it left with the "# at the end:" line the scenario wrote.
# Setups with steps of the lab's own sockets must still run to the end.
tw_cw() {  # NS: TIME_WAIT=N CLOSE_WAIT=N as ss counts them
    echo "TIME_WAIT=$(ip netns exec "$1" ss -Htan state time-wait | wc -l)" \
         "CLOSE_WAIT=$(ip netns exec "$1" ss -Htan state close-wait | wc -l)"
}
mkdir -p "$tmp/bin" "$tmp/setups"; ln -sf "$CLOSER" "$tmp/bin/closer"
for name in $("$CLOSER" lab list | awk '{print $1}'); do
    awk -v n="$name" '$0 ~ "^## "n" " {f=1} f&&/^```sh/{s=1;next} s&&/^```/{exit} s' \
        "$tmp/report/report.md" >"$tmp/setups/$name.sh"
    # What it left is read as soon as it ends: the setups run side by side
    # and a slow one must not let a fast one's TIME_WAIT (60 s) expire.
    (PATH="$tmp/bin:$PATH" timeout 60 bash -e "$tmp/setups/$name.sh" >/dev/null 2>"$tmp/setups/$name.err"
     rc=$?
     c_ns=$(grep -o 'ip netns add [^ ]*-c$' "$tmp/setups/$name.sh" | awk '{print $4}')
     s_ns=$(grep -o 'ip netns add [^ ]*-s$' "$tmp/setups/$name.sh" | awk '{print $4}')
     [ -n "$c_ns" ] && [ -n "$s_ns" ] && echo "server $(tw_cw "$s_ns"), client $(tw_cw "$c_ns")" >"$tmp/setups/$name.got"
     echo $rc >"$tmp/setups/$name.rc") &
done

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

wait_for 90 sh -c "ls '$tmp'/setups/*.rc 2>/dev/null | wc -l | grep -qx $want" || true
for f in "$tmp"/setups/*.sh; do
    name=$(basename "$f" .sh)
    rc=$(cat "$tmp/setups/$name.rc" 2>/dev/null || echo none)
    c_ns=$(grep -o 'ip netns add [^ ]*-c$' "$f" | awk '{print $4}')
    s_ns=$(grep -o 'ip netns add [^ ]*-s$' "$f" | awk '{print $4}')
    end=$(grep '^# at the end' "$f")
    if [ "$rc" != 0 ]; then
        fail "lab_setup_runs_$name" "exit $rc: $(tail -c 300 "$tmp/setups/$name.err")"
    elif [[ $end == "# at the end, with the lab's own sockets"* ]]; then
        pass "lab_setup_runs_$name"
    else
        want_end=$(echo "$end" | sed 's/.*: //')
        got_end=$(cat "$tmp/setups/$name.got" 2>/dev/null || echo "not read")
        # request-cap: each of the 4 connections of each of its 2 runs may
        # end one partial cap apart (the scenario's own +-4)
        python3 - "$name" "$want_end" "$got_end" <<'PY' || fail "lab_setup_result_$name" "scenario: $want_end; script: $got_end"
import re, sys
name, want, got = sys.argv[1:]
w = [int(x) for x in re.findall(r"=(\d+)", want)]
g = [int(x) for x in re.findall(r"=(\d+)", got)]
slack = 8 if name == "request-cap" else 0
assert len(w) == 4 and len(g) == 4 and all(abs(a - b) <= slack for a, b in zip(w, g)), (w, g)
print("PASS lab_setup_result_" + name)
PY
    fi
    for n in $c_ns $s_ns; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
    sleep 0.2
    for n in $c_ns $s_ns; do ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$n" 2>/dev/null; done
done
check_eq lab_setups_all_ran "$(ls "$tmp"/setups/*.rc 2>/dev/null | wc -l)" "$want"
check lab_setups_stop_what_they_started sh -c "grep -q '^kill \$pid1; wait \$pid1' '$tmp/setups/request-cap.sh'"

# lab list says which claims are myths (the scenarios with a correction).
myths=$(python3 -c "import json;print(' '.join(sorted(s['name'] for s in json.load(open('$tmp/lab.json'))['scenarios'] if s['correction'])))")
check_eq lab_list_myths "$("$CLOSER" lab list | awk '$2 == "MYTH:" {print $1}' | sort | xargs)" "$myths"
check lab_list_myth_with_truth sh -c "'$CLOSER' lab list | grep -q '^tw-length .*MYTH: .*Truth: TIME_WAIT is 60 s'"

# Plots: titled with the scenario and its verdict; no empty panel; event
# badges apart (those within a badge's width stacked) and their texts in a
# legend below every panel, one line each.
check lab_plots_titled_legible python3 - "$tmp/lab.json" "$tmp/report" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
for s in d["scenarios"]:
    svg = open("%s/%s.svg" % (sys.argv[2], s["name"])).read()
    assert re.search(r">%s — %s( \(the claim is a myth\))?</text>" % (re.escape(s["name"]), s["verdict"]), svg), s["name"]
    assert ">no sockets<" not in svg, (s["name"], "empty panel")
    rects = [tuple(map(int, m)) for m in re.findall(r"<rect x='(\d+)' y='(\d+)' width='(\d+)' height='(\d+)' fill='none'", svg)]
    assert rects, s["name"]
    badges = [(float(x), int(y)) for x, y in re.findall(r"<circle cx='([\d.]+)' cy='(\d+)'", svg)]
    for i, a in enumerate(badges):
        for b in badges[i + 1:]:
            assert abs(a[0] - b[0]) >= 14 or a[1] != b[1], (s["name"], "badges overlap", a, b)
    labels = [int(y) for y in re.findall(r"<text x='\d+' y='(\d+)' font-size='11' fill='#444'>\d+\. ", svg)]
    assert len(labels) == len(set(labels)), (s["name"], "event labels share a line")
    bottom = max(y + h for x, y, w, h in rects)
    assert all(y > bottom for y in labels), (s["name"], "an event label inside a panel")
PY
# Samples while loads run: request-cap's 3 s loads have samples inside
# them (there were none between 0.07 s and 3.11 s).
check lab_samples_during_loads python3 - "$tmp/report" <<'PY'
import csv, re, sys
md = open(sys.argv[1] + "/report.md").read().split("## request-cap")[1].split("\n## ")[0]
ev = [(float(t), what) for t, what in re.findall(r"^\d+\. ([\d.]+) s: (.*)$", md, re.M)]
starts = [t for t, w in ev if w.startswith("load ") and w != "load done"]
ends = [t for t, w in ev if w == "load done"]
rows = [float(r["t_s"]) for r in csv.DictReader(open(sys.argv[1] + "/request-cap.csv")) if r["host"] == "server"]
assert len(starts) == 2 and len(ends) == 2, ev
for a, b in zip(starts, ends):
    inside = [t for t in rows if a < t < b]
    assert len(inside) >= 5, (a, b, inside)
PY

"$CLOSER" lab run no-such 2>/dev/null; check_eq lab_unknown_scenario_exit $? 2
"$CLOSER" lab --bogus 2>/dev/null; check_eq lab_bad_flag_exit $? 2
check lab_help sh -c "'$CLOSER' lab --help | grep -q 'closer lab run'"
