#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every alert of contrib/closer-alerts.yml through `promtool test rules`
# (tests/data/alerts/: one file per exporter mode), on series whose label
# names are checked against what the exporter really writes, without and
# with --all-netns, in a private namespace. Joins and aggregations in the
# rules and the dashboard keep instance and netns.
. "$(dirname "$0")/../lib/lib.sh"
need_root
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
RULES=$ROOTDIR/contrib/closer-alerts.yml
DATA=$ROOTDIR/tests/data/alerts
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT

for mode in single allnetns; do
    check "promtool_test_$mode" promtool test rules "$DATA/$mode.test.yml"
done

# Each alert fires in a case of each mode (an empty exp_alerts proves nothing).
coverage() {
    python3 - "$RULES" "$DATA/$1.test.yml" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
t = yaml.safe_load(open(sys.argv[2]))
fired = {c["alertname"] for tc in t["tests"] for c in tc.get("alert_rule_test", []) if c.get("exp_alerts")}
print(" ".join(sorted(alerts - fired)) or "none")
PY
}
check_eq alerts_untested_single "$(coverage single)" none
check_eq alerts_untested_allnetns "$(coverage allnetns)" none

# Real expositions: a private namespace with a CLOSE_WAIT pile (a finding,
# owner="process"), client TIME_WAIT (destinations); once for the
# namespace alone, once with --all-netns (every namespace of the host; only
# label names are compared, so what other namespaces hold does not matter).
netns_new NS
mkpile "$NS" cw-not-closed 8081 5
mkpile "$NS" client-tw 8083 3
bg E1 ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9337 --cache 0ms
bg E2 ip netns exec "$NS" "$CLOSER" exporter --listen 127.0.0.1:9338 --cache 0ms --all-netns --top-netns 1000
wait_listen "$NS" 9337 && wait_listen "$NS" 9338 || fail exporters_listen "no listener on 9337/9338"
ip netns exec "$NS" curl -s --max-time 10 http://127.0.0.1:9337/metrics > "$tmp/single.prom"
ip netns exec "$NS" curl -s --max-time 30 http://127.0.0.1:9338/metrics > "$tmp/allnetns.prom"

# shapes MODE: the input series of MODE's test file whose label names (less
# the scrape's instance, job, node; with --all-netns also container and pod,
# present only where closer knows them) are not those of a real series.
shapes() {
    python3 - "$DATA/$1.test.yml" "$tmp/$1.prom" "$1" <<'PY'
import re, sys, yaml
LBL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')
def parse(s):
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?', s.strip())
    return m.group(1), frozenset(LBL.findall(m.group(2) or ""))
optional = {"container", "pod"} if sys.argv[3] == "allnetns" else set()
real = {}
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    name, labels = parse(line.rsplit(" ", 1)[0])
    real.setdefault(name, set()).add(labels - optional)
bad = []
for tc in yaml.safe_load(open(sys.argv[1]))["tests"]:
    for s in tc["input_series"]:
        name, labels = parse(s["series"])
        if name == "up":  # Prometheus's own, per target
            continue
        got = labels - {"instance", "job", "node"} - optional
        if got not in real.get(name, set()):
            bad.append(f"{name}{{{','.join(sorted(got))}}}")
print(" ".join(sorted(set(bad))) or "none")
PY
}
check_eq series_shapes_single "$(shapes single)" none
check_eq series_shapes_allnetns "$(shapes allnetns)" none
check allnetns_has_netns grep -q '^closer_tcp_sockets{netns="[0-9]*",state=' "$tmp/allnetns.prom"

# Every `on (...)` / `by (...)` in the rules and the dashboard names instance
# and netns (ignoring/without keep them by construction).
joins=$( (grep -E "^ *expr:" "$RULES"; python3 -c "
import json,sys
for p in json.load(open(sys.argv[1]))['panels']:
    for t in p['targets']: print(t['expr'])" "$ROOTDIR/contrib/closer-grafana.json") |
    grep -oE '\b(on|by) ?\([^)]*\)' | grep -vE 'instance.*netns|netns.*instance' || true)
check_eq joins_keep_instance_and_netns "$joins" ""
check_eq dashboard_variables "$(python3 -c "
import json,sys
print(' '.join(v['name'] for v in json.load(open(sys.argv[1]))['templating']['list']))" "$ROOTDIR/contrib/closer-grafana.json")" \
    "datasource instance netns pod"
