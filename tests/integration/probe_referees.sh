#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer probe against closer serve and nginx configured with known values:
# it must report exactly the request cap, the idle timeout within ±0.3 s,
# and "no keep-alive" when keep-alive is off.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/nginx.sh"
need_root
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
PORT=8080
probe() { ip netns exec "$1" "$CLOSER" probe --json --max-wait 10s "http://127.0.0.1:$PORT/" > "$tmp/p.json"; }
q() { json_get "$tmp/p.json" "$1"; }
within() { python3 -c "import sys; sys.exit(not abs($1 - $2) <= $3)"; }

for server in closer nginx; do
    # keepalive_timeout 3s, keepalive_requests 7
    netns_new NS
    if [ $server = nginx ]; then
        nginx_start "$NS" $PORT "$tmp/ng1" "keepalive_timeout 3s; keepalive_requests 7;"
    else
        bg P ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --return 200 ok --keepalive-timeout 3s --keepalive-requests 7 2>/dev/null
        wait_listen "$NS" $PORT
    fi
    probe "$NS"
    check_eq ${server}_keepalive_11 "$(q "d['http11']['keepalive']")" True
    check_eq ${server}_request_cap "$(q "d['request_cap']")" 7
    check ${server}_idle_timeout_3s within "$(q "d['idle_timeout_s']")" 3 0.3
    check_eq ${server}_close_then_fin "$(q "d['after_connection_close']['server_close']")" fin
    check_eq ${server}_verdict_cap_server "$(q "d['time_wait_on']['request_cap_reached']")" server
    # keep-alive off
    netns_new NS
    if [ $server = nginx ]; then
        nginx_start "$NS" $PORT "$tmp/ng2" "keepalive_timeout 0;"
    else
        bg P ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --return 200 ok --keepalive off 2>/dev/null
        wait_listen "$NS" $PORT
    fi
    probe "$NS"
    check_eq ${server}_no_keepalive "$(q "(d['http11']['keepalive'], d['http11']['connection'], d['request_cap'], d['idle_timeout_s'])")" "(False, 'close', None, None)"
    check_eq ${server}_no_keepalive_verdict "$(q "d['time_wait_on']['client_closes']")" server
done

# closer serve --close-policy client: after Connection: close the server
# waits for the client's FIN.
netns_new NS
bg P ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --return 200 ok --close-policy client 2>/dev/null
wait_listen "$NS" $PORT
ip netns exec "$NS" "$CLOSER" probe --json --max-wait 2s --close-wait 1s "http://127.0.0.1:$PORT/" > "$tmp/p.json"
check_eq policy_client_waits "$(q "(d['after_connection_close']['server_waits_for_client'], d['time_wait_on']['connection_close'])")" "(True, 'client')"

# --linger-zero: the close is a RST.
netns_new NS
bg P ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --return 200 ok --linger-zero 2>/dev/null
wait_listen "$NS" $PORT
probe "$NS"
check_eq linger_zero_rst "$(q "d['after_connection_close']['server_close']")" rst

"$CLOSER" probe http://127.0.0.1:1/ 2>/dev/null; check_eq unreachable_exit $? 2
"$CLOSER" probe ftp://x/ 2>/dev/null; check_eq bad_url_exit $? 2
