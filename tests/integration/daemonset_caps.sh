#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# contrib/closer-exporter-daemonset.yaml grants exactly the capabilities
# closer exporter --all-netns needs, as package_deb.sh checks the unit's:
# run as root (uid 0, as runAsUser: 0) with the manifest's capability set as
# the bounding set (capabilities: drop ALL, add ...), it enters a pod-like
# namespace and names the owner of CLOSE_WAIT sockets held by a process of
# another user; with any one of them taken away, something is lost. And the
# manifest's AppArmor choice is Unconfined for the container, documented.
. "$(dirname "$0")/../lib/lib.sh"
need_root
command -v setpriv >/dev/null || { fail have_setpriv "not installed (scripts/deps.sh installs util-linux)"; exit 0; }
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
MANIFEST=$ROOTDIR/contrib/closer-exporter-daemonset.yaml
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp "$HELPERS/mkpile" "$tmp/mkpile" && chmod 755 "$tmp/mkpile"

read -r caps args apparmor < <(python3 - "$MANIFEST" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
c = d["spec"]["template"]["spec"]["containers"][0]
sc = c["securityContext"]
assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsUser"] == 0
print(",".join(sorted(sc["capabilities"]["add"])), ",".join(c["args"]),
      sc.get("appArmorProfile", {}).get("type", "none"))
PY
)
check_eq manifest_capabilities "$caps" "DAC_READ_SEARCH,SYS_ADMIN,SYS_PTRACE"
check_eq manifest_all_netns "$(echo "$args" | tr , '\n' | grep -cx -- --all-netns)" 1
check_eq manifest_apparmor_unconfined "$apparmor" Unconfined
check manifest_apparmor_documented grep -q 'AppArmor: Unconfined, for this container only' "$MANIFEST"

# A pod: a namespace of its own, 4 CLOSE_WAIT sockets held by nobody's
# process. The exporter runs in another namespace (as hostNetwork would put
# it outside the pod's) and is scraped there.
netns_new POD
netns_new HOST
ready=$tmp/ready; : > "$ready"; rm -f "$ready"
mkdir "$tmp/r" && chmod 777 "$tmp/r"
bg PILE ip netns exec "$POD" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$tmp/mkpile" cw-not-closed 8081 4 "$tmp/r/ready"
wait_for 10 test -s "$tmp/r/ready" || fail pile "mkpile as nobody did not get ready"
POD_INODE=$(stat -L -c %i "/run/netns/$POD")

port=9460
scrape_with() {  # CAPS (setpriv names, comma-separated): /metrics of --all-netns as root with only CAPS
    local set="-all" c
    for c in ${1//,/ }; do set="$set,+$c"; done
    port=$((port + 1))
    ip netns exec "$HOST" setpriv --bounding-set="$set" --inh-caps=-all \
        "$CLOSER" exporter --listen "127.0.0.1:$port" --all-netns --top-netns 1000 --no-doctor \
        --cache 0s >/dev/null 2>&1 &
    local runner=$!
    wait_listen "$HOST" "$port"
    ip netns exec "$HOST" curl -s --max-time 30 "http://127.0.0.1:$port/metrics"
    kill -TERM "$runner" 2>/dev/null; wait "$runner" 2>/dev/null
}
pod_val() { awk -v k="$1{netns=\"$POD_INODE\"$2}" '$1==k{print $2}' "$3"; }
lower=$(echo "$caps" | tr 'A-Z' 'a-z')

scrape_with "$lower" > "$tmp/all"
check_eq all_caps_owner_named "$(pod_val closer_close_wait_sockets ',comm="mkpile",owner="process"' "$tmp/all")" 4
check_eq all_caps_pod_readable "$(grep -c "^closer_netns_unreadable{netns=\"$POD_INODE\"" "$tmp/all")" 0
check_eq all_caps_owners_visible "$(pod_val closer_owners_visible '' "$tmp/all")" 1
check_eq all_caps_capability_not_missing "$(pod_val closer_processes_unreadable ',reason="capability"' "$tmp/all")" 0

# Each one taken away loses something.
for drop in sys_admin sys_ptrace dac_read_search; do
    scrape_with "$(echo "$lower" | tr , '\n' | grep -vx "$drop" | paste -sd,)" > "$tmp/no_$drop"
done
check_eq without_sys_admin_pod_unreadable "$(grep -c "^closer_netns_unreadable{netns=\"$POD_INODE\"" "$tmp/no_sys_admin")" 1
check_eq without_sys_ptrace_owner_hidden "$(pod_val closer_close_wait_sockets ',comm="",owner="none"' "$tmp/no_sys_ptrace")" 4
check_eq without_sys_ptrace_not_visible "$(pod_val closer_owners_visible '' "$tmp/no_sys_ptrace")" 0
check_eq without_dac_read_search_owner_hidden "$(pod_val closer_close_wait_sockets ',comm="",owner="none"' "$tmp/no_dac_read_search")" 4
check_eq without_dac_read_search_not_visible "$(pod_val closer_owners_visible '' "$tmp/no_dac_read_search")" 0
check_eq without_dac_read_search_says_capability \
    "$(pod_val closer_processes_unreadable ',reason="capability"' "$tmp/no_dac_read_search" | awk '{print ($1 > 0)}')" 1
