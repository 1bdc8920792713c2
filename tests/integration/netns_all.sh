#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --all-netns and -N forms on namespaces made the way container runtimes make
# them: `unshare --net` (nothing under /run/netns), real servers (python3
# http.server, nginx) and piles inside; a namespace kept by a bind mount with
# no process left; namespaces closer cannot enter (CAP_SYS_ADMIN dropped).
# Every count is checked against `nsenter -t PID -n ss -tan` for that
# namespace; exporter output against promtool.
. "$(dirname "$0")/../lib/lib.sh"
need_root
tmp=$(mktemp -d)
CG_DIRS=()
cleanup_all() {
    __cleanup
    [ -e "$tmp/nsC" ] && umount "$tmp/nsC" 2>/dev/null
    local d
    for d in "${CG_DIRS[@]}"; do rmdir "$d" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup_all EXIT

# unshare_ns VAR CMD...: CMD runs as the first process of a new network
# namespace (lo up), not under /run/netns; its pid goes in VAR.
unshare_ns() {
    local __v=$1; shift
    bg "$__v" unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
}
in_pid() { local p=$1; shift; nsenter -t "$p" -n "$@"; }
wait_listen_pid() { wait_for 10 sh -c "nsenter -t $1 -n ss -Htln 'sport = :$2' | grep -q ."; }
ns_inode() { stat -L -c %i "$1"; }
# ss_counts NSENTER-ARGS: "state count" lines, in closer's JSON state names
# (-t PID -n, or --net=FILE).
ss_counts() {
    nsenter "$@" ss -Htan 2>/dev/null | awk '{s=$1; gsub("-", "_", s); sub("WAIT_", "WAIT", s); n[s]++}
        END {for (k in n) print k, n[k]}' | sort
}
ss_total() { nsenter "$@" ss -Htan | wc -l; }

# A: python3 http.server closing first on HTTP/1.0 (server-side TIME_WAIT)
# and 5 accepted sockets whose EOF was read but never closed.
unshare_ns PA sh -c 'exec /usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1'
wait_listen_pid "$PA" 8000 || fail setup_a "http.server did not listen"
for i in $(seq 1 40); do in_pid "$PA" curl -s -0 -o /dev/null http://127.0.0.1:8000/; done
ready="$tmp/readyA"
bg MKA nsenter -t "$PA" -n "$HELPERS/mkpile" cw-not-closed 8001 5 "$ready"
wait_for 10 test -s "$ready" || fail setup_a "mkpile did not get ready"

# B: nginx (keepalive_timeout 0: it closes first) and 4 connections that sit
# in an accept queue nobody drains; its first process is put into a docker-
# shaped cgroup so the owner label is read from a real /proc/PID/cgroup.
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server { listen 127.0.0.1:8080; keepalive_timeout 0; location / { return 200 "ok\n"; } }
}
CONF
unshare_ns PB nginx -c "$tmp/nginx.conf" -p "$tmp"
wait_listen_pid "$PB" 8080 || fail setup_b "nginx did not listen"
for i in $(seq 1 30); do in_pid "$PB" curl -s -o /dev/null http://127.0.0.1:8080/; done
ready="$tmp/readyB"
bg MKB nsenter -t "$PB" -n "$HELPERS/mkpile" cw-unaccepted 8081 4 "$ready"
wait_for 10 test -s "$ready" || fail setup_b "mkpile did not get ready"
CID=$(printf 'c1%062d' 7)
POD=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d
if [ -d /sys/fs/cgroup/pids ]; then
    CG=/sys/fs/cgroup/pids/kubepods/besteffort/pod$POD/$CID
    mkdir -p "$CG" && CG_DIRS+=("$CG" "$(dirname "$CG")" /sys/fs/cgroup/pids/kubepods/besteffort /sys/fs/cgroup/pids/kubepods)
    echo "$PB" > "$CG/cgroup.procs" || fail setup_cgroup "cannot move nginx into $CG"
fi

# D: python3's ThreadingHTTPServer whose handler threads sleep: 3 CLOSE_WAIT
# that only the process model (threads and what they wait on) explains.
unshare_ns PD sh -c "exec /usr/bin/python3 $(cd "$(dirname "$0")/.." && pwd)/lib/closewait/threading_server.py 8002 >/dev/null 2>&1"
wait_listen_pid "$PD" 8002 || fail setup_d "threading_server.py did not listen"
for i in 1 2 3; do in_pid "$PD" curl -s -o /dev/null --max-time 1 http://127.0.0.1:8002/ & done
wait_for 10 sh -c "test \$(nsenter -t $PD -n ss -Htan state close-wait | wc -l) -ge 3"

# C: kept by a bind mount only: TIME_WAIT left by a server that is gone.
touch "$tmp/nsC"
unshare --net="$tmp/nsC" true || fail setup_c "unshare --net=FILE"
nsenter --net="$tmp/nsC" ip link set lo up
nsenter --net="$tmp/nsC" /usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
PC=$!
wait_for 10 sh -c "nsenter --net=$tmp/nsC ss -Htln 'sport = :8000' | grep -q ."
for i in $(seq 1 12); do nsenter --net="$tmp/nsC" curl -s -0 -o /dev/null http://127.0.0.1:8000/; done
kill "$PC"; wait "$PC" 2>/dev/null
# At least 12: a simultaneous close leaves both ends of a connection in TIME_WAIT.
TWC=$(nsenter --net="$tmp/nsC" ss -Htan state time-wait | wc -l)

IA=$(ns_inode /proc/$PA/ns/net); IB=$(ns_inode /proc/$PB/ns/net); IC=$(ns_inode "$tmp/nsC")
ID=$(ns_inode /proc/$PD/ns/net)

# doctor --all-netns --json: every namespace against ss.
"$CLOSER" doctor --all-netns --json > "$tmp/d.json"; rc=$?
check_eq doctor_exit_warnings $rc 1
check doctor_json_parses /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/d.json"
closer_counts() {  # inode → "state count" lines (non-zero)
    /usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
for n in d["namespaces"]:
    if n["inode"]==int(sys.argv[2]):
        for k,v in sorted(n["states"].items()):
            if v: print(k, v)' "$1" "$2" | sort
}
closer_field() { /usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
n=[n for n in d["namespaces"] if n["inode"]==int(sys.argv[2])]
print(eval(sys.argv[3]) if n else "absent")' "$1" "$2" "$3"; }
check_eq a_states_vs_ss "$(closer_counts "$tmp/d.json" "$IA")" "$(ss_counts -t "$PA" -n)"
check_eq b_states_vs_ss "$(closer_counts "$tmp/d.json" "$IB")" "$(ss_counts -t "$PB" -n)"
check_eq c_states_vs_ss "$(closer_counts "$tmp/d.json" "$IC")" "$(ss_counts --net="$tmp/nsC")"
check_eq a_sockets_vs_ss "$(closer_field "$tmp/d.json" "$IA" 'n[0]["sockets"]')" "$(ss_total -t "$PA" -n)"
check_eq c_time_wait_vs_ss "$(closer_field "$tmp/d.json" "$IC" 'n[0]["states"]["TIME_WAIT"]')" "$TWC"
check c_time_wait_at_least_12 test "$TWC" -ge 12
check_eq a_owner_first_process "$(closer_field "$tmp/d.json" "$IA" 'n[0]["owner"]')" python3
check_eq a_not_under_run_netns "$(closer_field "$tmp/d.json" "$IA" 'n[0]["name"]')" None
check_eq c_no_process "$(closer_field "$tmp/d.json" "$IC" '(n[0]["pid"], n[0]["name"])')" "(None, 'nsC')"
if [ ${#CG_DIRS[@]} -gt 0 ]; then
    check_eq b_pod_from_cgroup "$(closer_field "$tmp/d.json" "$IB" '(n[0]["pod"], n[0]["container"])')" "('$POD', '$CID')"
fi
# Findings carry their namespace; the two sick namespaces rank first.
# (Other tests may run namespaces of their own at the same time: only ours
# are asserted on.)
findings_of() { json_get "$tmp/d.json" "sorted(set(f['id'] for f in d['findings'] if f['netns']['inode']==$1 and f['severity']!='info'))"; }
check_eq findings_of_a "$(findings_of "$IA")" "['close-wait-not-closed']"
check_eq findings_of_b "$(findings_of "$IB")" "['close-wait-unaccepted']"
check_eq findings_of_c "$(findings_of "$IC")" "[]"
check_eq findings_of_d "$(findings_of "$ID")" "['close-wait-blocked-thread']"
rank_of() { closer_field "$tmp/d.json" "$1" 'n[0]["rank"]'; }
check_eq sick_ranked_above_healthy "$([ "$(rank_of "$IA")" -lt "$(rank_of "$IC")" ] && [ "$(rank_of "$IB")" -lt "$(rank_of "$IC")" ] && echo yes)" yes
check_eq every_finding_has_netns "$(json_get "$tmp/d.json" 'all("inode" in f["netns"] for f in d["findings"])')" True

# Text: the ranking lists the namespaces, each finding line names its namespace.
"$CLOSER" doctor --all-netns > "$tmp/d.txt"
check text_lists_a grep -q "^[0-9]* *warning .* $IA (python3)" "$tmp/d.txt"
check text_finding_tagged grep -q "^warning   close-wait-not-closed  \[netns $IA (python3)\]" "$tmp/d.txt"

# -N forms: pid:PID, a path, a bind-mount file; counts are ss's.
"$CLOSER" doctor -N "pid:$PA" --json > "$tmp/a.json"
check_eq n_pid_form "$(json_get "$tmp/a.json" 'd["sockets"]')" "$(ss_total -t "$PA" -n)"
# The same evidence either way: each namespace's findings under --all-netns
# are what doctor -N finds there (ids, titles, why, numbers aside: tcp_info,
# process models, second look and --confirm included).
"$CLOSER" doctor -N "pid:$PB" --json > "$tmp/b.json"
same_findings() {  # single.json inode
    /usr/bin/python3 - "$1" "$tmp/d.json" "$2" <<'PY'
import json, re, sys
one = json.load(open(sys.argv[1])); every = json.load(open(sys.argv[2])); ino = int(sys.argv[3])
# Numbers move between the two runs (ages, rates over 10 s): the words are the evidence.
num = lambda t: re.sub(r"[0-9]+([.][0-9]+)?", "#", t)
key = lambda f: (f["id"], f["severity"], num(f["title"]), num(f["why"]))
a = sorted(key(f) for f in one["findings"])
b = sorted(key(f) for f in every["findings"] if f["netns"]["inode"] == ino)
print("same" if a == b else "differ:\n%s\n%s" % (a, b))
PY
}
check_eq a_findings_as_doctor_n "$(same_findings "$tmp/a.json" "$IA")" same
check_eq b_findings_as_doctor_n "$(same_findings "$tmp/b.json" "$IB")" same
"$CLOSER" doctor -N "pid:$PD" --json > "$tmp/dd.json"
check_eq d_findings_as_doctor_n "$(same_findings "$tmp/dd.json" "$ID")" same
check d_why_names_the_wait grep -q 'hrtimer_nanosleep' "$tmp/d.json"
"$CLOSER" states -N "/proc/$PB/ns/net" -H | wc -l > "$tmp/b.n"
check_eq n_path_form "$(cat "$tmp/b.n")" "$(ss_total -t "$PB" -n)"
check_eq n_bind_mount_form "$("$CLOSER" states -N "$tmp/nsC" -H --state time-wait | wc -l)" "$TWC"
"$CLOSER" doctor -N "$PA" >/dev/null 2>"$tmp/err"; check_eq n_bare_pid_exit_2 $? 2
check n_bare_pid_hint grep -q "use pid:$PA" "$tmp/err"
"$CLOSER" doctor -N pid:0 >/dev/null 2>&1; check_eq n_pid0_exit_2 $? 2
"$CLOSER" states -N /etc/hostname >/dev/null 2>"$tmp/err"; check_eq n_not_netns_exit_2 $? 2
check n_not_netns_says_why grep -q "not a network namespace" "$tmp/err"
"$CLOSER" doctor --all-netns -N pid:$PA >/dev/null 2>&1; check_eq all_and_n_exit_2 $? 2

# Namespaces closer cannot enter: CAP_SYS_ADMIN dropped, run from inside A.
# A (where it runs) is still read; B is named with the reason.
nsenter -t "$PA" -n setpriv --bounding-set -sys_admin "$CLOSER" doctor --all-netns --json > "$tmp/e.json"
check_eq noadmin_exit_by_findings $? 1
check_eq noadmin_a_read "$(closer_counts "$tmp/e.json" "$IA")" "$(ss_counts -t "$PA" -n)"
check_eq noadmin_b_reason "$(closer_field "$tmp/e.json" "$IB" '"not permitted" in n[0]["error"]')" True
nsenter -t "$PA" -n setpriv --bounding-set -sys_admin "$CLOSER" doctor --all-netns > "$tmp/e.txt"
check noadmin_text_names_b grep -q "not read .* $IB" "$tmp/e.txt"

# states --all-netns: rows of A under its inode, as many as ss has.
"$CLOSER" states --all-netns -H > "$tmp/s.txt"
check_eq states_rows_a "$(awk -v i="$IA" '$1==i' "$tmp/s.txt" | wc -l)" "$(ss_total -t "$PA" -n)"
check_eq states_rows_c "$(awk -v i="$IC" '$1==i' "$tmp/s.txt" | wc -l)" "$TWC"

# top --all-netns batch: one line per namespace; the filter keeps one.
"$CLOSER" top --all-netns -b -n 1 --netns-filter "$IB" > "$tmp/t.txt"
check_eq top_filter_one_line "$(wc -l < "$tmp/t.txt")" 2
check_eq top_b_time_wait "$(awk -v i="$IB" '$1==i {print $6}' "$tmp/t.txt")" \
    "$(in_pid "$PB" ss -Htan state time-wait | wc -l)"
check_eq top_b_close_wait "$(awk -v i="$IB" '$1==i {print $7}' "$tmp/t.txt")" 4

# top --all-netns --json: one closer.top-netns/1 object per interval, a row
# per namespace carrying its namespace; each row's counts are ss's.
"$CLOSER" top --all-netns --json -n 2 -i 300ms > "$tmp/t.jsonl"
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
valid_lines() { /usr/bin/python3 "$ROOTDIR/tests/lib/validate_json.py" "$ROOTDIR/schemas" "$1" --lines >/dev/null; }
check top_json_valid valid_lines "$tmp/t.jsonl"
check_eq top_json_one_object_per_interval "$(wc -l < "$tmp/t.jsonl")" 2
top_row() {  # FILE LINE INODE EXPR(r): the row of namespace INODE on line LINE
    /usr/bin/python3 -c '
import json,sys
d=json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1])
r=[r for r in d["namespaces"] if r["netns"]["inode"]==int(sys.argv[3])]
print(eval(sys.argv[4]) if r else "absent")' "$@"
}
top_counts() { top_row "$1" "$2" "$3" '"\n".join("%s %d" % kv for kv in sorted(r[0]["states"].items()) if kv[1])' | sort; }
check_eq top_json_a_vs_ss "$(top_counts "$tmp/t.jsonl" 2 "$IA")" "$(ss_counts -t "$PA" -n)"
check_eq top_json_b_vs_ss "$(top_counts "$tmp/t.jsonl" 2 "$IB")" "$(ss_counts -t "$PB" -n)"
check_eq top_json_c_vs_ss "$(top_counts "$tmp/t.jsonl" 2 "$IC")" "$(ss_counts --net="$tmp/nsC")"
check_eq top_json_d_vs_ss "$(top_counts "$tmp/t.jsonl" 2 "$ID")" "$(ss_counts -t "$PD" -n)"
check_eq top_json_b_accept_queue "$(top_row "$tmp/t.jsonl" 2 "$IB" 'r[0]["accept_queue"]')" 4
check_eq top_json_netns_carried "$(top_row "$tmp/t.jsonl" 1 "$IA" '(r[0]["netns"]["name"], r[0]["netns"]["owner"], r[0]["netns"]["pid"])') $(top_row "$tmp/t.jsonl" 1 "$IC" 'r[0]["netns"]["name"]')" \
    "(None, 'python3', $PA) nsC"
check_eq top_json_rates_from_second "$(top_row "$tmp/t.jsonl" 1 "$IA" 'r[0]["time_wait_change_per_s"]') $(top_row "$tmp/t.jsonl" 2 "$IA" 'isinstance(r[0]["time_wait_change_per_s"], (int, float))')" "None True"
"$CLOSER" top --all-netns --json -n 1 --netns-filter "$IB" > "$tmp/tf.jsonl"
check_eq top_json_filter_keeps_one "$(json_get "$tmp/tf.jsonl" '[r["netns"]["inode"] for r in d["namespaces"]]')" "[$IB]"
# Without CAP_SYS_ADMIN (from inside A): B's row names the reason, null counts.
nsenter -t "$PA" -n setpriv --bounding-set -sys_admin "$CLOSER" top --all-netns --json -n 1 > "$tmp/tu.jsonl"
check top_json_unreadable_valid valid_lines "$tmp/tu.jsonl"
check_eq top_json_unreadable_b "$(top_row "$tmp/tu.jsonl" 1 "$IB" '(r[0]["states"], r[0]["accept_queue"], "not permitted" in r[0]["error"])')" "(None, None, True)"
check_eq top_json_unreadable_a_vs_ss "$(top_counts "$tmp/tu.jsonl" 1 "$IA")" "$(ss_counts -t "$PA" -n)"

# top --all-netns on a screen (tmux): a row per namespace; n + inode + Enter
# narrows to one namespace and shows its own tables.
if command -v tmux >/dev/null; then
    SESSION="closer-nstop-$$"
    tmux new-session -d -s "$SESSION" -x 160 -y 60 "$CLOSER top --all-netns -i 300ms; echo EXITED; sleep 30"
    scr() { tmux capture-pane -p -t "$SESSION"; }
    wait_for 10 sh -c "tmux capture-pane -p -t $SESSION | grep -q '^$IA '" || fail top_screen_drawn "no row for $IA"
    scr > "$tmp/ts1"
    check_eq top_screen_a_time_wait "$(awk -v i="$IA" '$1==i {print $4}' "$tmp/ts1")" \
        "$(in_pid "$PA" ss -Htan state time-wait | wc -l)"
    tmux send-keys -t "$SESSION" n "$IB" Enter
    wait_for 10 sh -c "tmux capture-pane -p -t $SESSION | grep -q 'netns $IB'" || fail top_screen_filter "no single-namespace view"
    scr > "$tmp/ts2"
    check_eq top_screen_one_ns_close_wait "$(awk '$1=="CLOSE_WAIT"{print $2; exit}' "$tmp/ts2")" 4
    tmux send-keys -t "$SESSION" a
    wait_for 10 sh -c "tmux capture-pane -p -t $SESSION | grep -q '^$IA '" || fail top_screen_all_again "a did not clear the filter"
    tmux send-keys -t "$SESSION" q
    wait_for 10 sh -c "tmux capture-pane -p -t $SESSION | grep -q EXITED" && pass top_screen_quits || fail top_screen_quits "q"
    tmux kill-session -t "$SESSION" 2>/dev/null
fi

# exporter --all-netns: labels on every series, promtool, gone namespaces vanish.
PORT=$((20000 + RANDOM % 20000))
bg EXP "$CLOSER" exporter --all-netns -l "127.0.0.1:$PORT" --cache 0
wait_for 10 curl -sf "http://127.0.0.1:$PORT/metrics" -o /dev/null
curl -s "http://127.0.0.1:$PORT/metrics" > "$tmp/m1"
check exporter_promtool promtool check metrics < "$tmp/m1"
check_eq exporter_a_time_wait "$(awk -v s="closer_tcp_sockets{netns=\"$IA\",state=\"TIME_WAIT\"}" '$1==s {print $2}' "$tmp/m1")" \
    "$(in_pid "$PA" ss -Htan state time-wait | wc -l)"
check_eq exporter_every_series_labelled "$(grep -v '^#' "$tmp/m1" | grep -v '^closer_netns' | grep -vc 'netns="')" 0
if [ ${#CG_DIRS[@]} -gt 0 ]; then
    check exporter_pod_label grep -q "closer_tcp_sockets{netns=\"$IB\",container=\"$CID\",pod=\"$POD\",state=\"ESTAB\"}" "$tmp/m1"
fi
# Without CAP_SYS_ADMIN (run from inside A): A is exported, B is named
# unreadable with the reason, and the exposition is still valid.
bg EXPU nsenter -t "$PA" -n setpriv --bounding-set -sys_admin "$CLOSER" exporter --all-netns \
    -l "127.0.0.1:$((PORT + 2))" --cache 0
wait_for 10 in_pid "$PA" curl -sf "http://127.0.0.1:$((PORT + 2))/metrics" -o /dev/null
tw_before=$(in_pid "$PA" ss -Htan state time-wait | wc -l)
in_pid "$PA" curl -s "http://127.0.0.1:$((PORT + 2))/metrics" > "$tmp/mu"
tw_after=$(in_pid "$PA" ss -Htan state time-wait | wc -l)  # the scrapes add their own
check exporter_noadmin_promtool promtool check metrics < "$tmp/mu"
check exporter_noadmin_b_unreadable grep -q "^closer_netns_unreadable{netns=\"$IB\",reason=\".*not permitted.*\"} 1" "$tmp/mu"
got=$(awk -v s="closer_tcp_sockets{netns=\"$IA\",state=\"TIME_WAIT\"}" '$1==s {print $2}' "$tmp/mu")
check_eq exporter_noadmin_a_time_wait "$([ -n "$got" ] && [ "$got" -ge "$tw_before" ] && [ "$got" -le "$tw_after" ] && echo in-range)" in-range
kill "$EXPU"; wait "$EXPU" 2>/dev/null
kill "$MKB" "$PB"; wait "$MKB" "$PB" 2>/dev/null
wait_for 10 sh -c "! test -e /proc/$PB"
curl -s "http://127.0.0.1:$PORT/metrics" > "$tmp/m2"
check_eq exporter_gone_netns_vanishes "$(grep -c "netns=\"$IB\"" "$tmp/m2")" 0
check_eq exporter_others_stay "$(grep -c "netns=\"$IA\"" "$tmp/m2" | awk '{print ($1 > 0)}')" 1
kill "$EXP"; wait "$EXP" 2>/dev/null
# Bounded cardinality: one namespace of its own, the rest in "other".
bg EXP2 "$CLOSER" exporter --all-netns --top-netns 1 -l "127.0.0.1:$((PORT + 1))" --cache 0
wait_for 10 curl -sf "http://127.0.0.1:$((PORT + 1))/metrics" -o /dev/null
curl -s "http://127.0.0.1:$((PORT + 1))/metrics" > "$tmp/m3"
check exporter_top1_promtool promtool check metrics < "$tmp/m3"
check_eq exporter_top1_labels "$(grep '^closer_tcp_sockets{' "$tmp/m3" | sed 's/.*netns="\([^"]*\)".*/\1/' | sort -u | wc -l)" 2
check exporter_other_present grep -q 'closer_tcp_sockets{netns="other",state="TIME_WAIT"}' "$tmp/m3"
# The pooled series hold the rest: A and C (quiet, 60 s of TIME_WAIT) are in
# the sum whichever namespace got its own series.
total_tw=$(awk '/^closer_tcp_sockets\{netns=.*state="TIME_WAIT"\}/ {s+=$2} END {print s}' "$tmp/m3")
want_tw=$(( $(in_pid "$PA" ss -Htan state time-wait | wc -l) + TWC ))
check_eq exporter_other_sums "$([ "$total_tw" -ge "$want_tw" ] && echo ok || echo "$total_tw < $want_tw")" ok

# contrib/: the DaemonSet and the scrape config parse; the scrape config
# passes promtool with its service discovery swapped for a static target.
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
check contrib_yaml_parses /usr/bin/python3 -c 'import yaml,sys; [list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]]' \
    "$ROOTDIR/contrib/closer-exporter-daemonset.yaml" "$ROOTDIR/contrib/prometheus-closer-scrape.yml"
check_eq daemonset_shape "$(/usr/bin/python3 -c '
import yaml,sys
d=yaml.safe_load(open(sys.argv[1])); s=d["spec"]["template"]["spec"]; c=s["containers"][0]
print(d["kind"], s["hostPID"], "--all-netns" in c["args"], sorted(c["securityContext"]["capabilities"]["add"]))' \
    "$ROOTDIR/contrib/closer-exporter-daemonset.yaml")" "DaemonSet True True ['DAC_READ_SEARCH', 'SYS_ADMIN', 'SYS_PTRACE']"
/usr/bin/python3 -c '
import yaml,sys
d=yaml.safe_load(open(sys.argv[1])); j=d["scrape_configs"][0]
del j["kubernetes_sd_configs"]; j["static_configs"]=[{"targets":["127.0.0.1:9337"]}]
yaml.safe_dump(d, open(sys.argv[2],"w"))' "$ROOTDIR/contrib/prometheus-closer-scrape.yml" "$tmp/scrape.yml"
check scrape_config_promtool sh -c "promtool check config \"$tmp/scrape.yml\" >/dev/null 2>&1"

# A namespace whose only process names itself "own\nname\eX": the owner
# was cut at the newline ("own"); it reads whole, made safe as a
# namespace's name is (control bytes as '?'), in text and JSON.
netns_new ONS
bg ODD ip netns exec "$ONS" /usr/bin/python3 "$ROOTDIR/tests/lib/oddname_server.py" \
    "$(printf 'own\nname\033X' | od -An -tx1 | tr -d ' \n')" 8097 1 "$tmp/own_ready"
wait_for 10 test -s "$tmp/own_ready" || fail own_ready "no process"
check_eq owner_name_whole "$("$CLOSER" states --all-netns --summary 2>/dev/null | grep -c "$ONS (own?name?X)")" 1
check_eq owner_name_whole_json "$("$CLOSER" states --all-netns --summary --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print([n["netns"]["comm"] for n in d["namespaces"] if n["netns"]["name"] == sys.argv[1]])' "$ONS")" "['own?name?X']"
