# SPDX-License-Identifier: MIT
# nginx as an independent referee, started inside a namespace with its own
# config in a temp dir. Source after lib.sh.
#   nginx_start NS PORT DIR "directives for the server block"
# The server block always has `location = /stub { stub_status; }` and
# `location / { return 200 "ok\n"; }`.
nginx_start() {
    nginx_run "$1" "$2" "$3" "" "" "$4
        location = /stub { stub_status; }
        location / { return 200 \"ok\\n\"; }"
}

# nginx_run NS PORT DIR LISTEN_OPTS HTTP_EXTRA SERVER_BODY: the one config
# skeleton (one process, temp paths in DIR, no access log); the callers
# give the listen options, what goes in http{} and the server block's body.
nginx_run() {
    local ns=$1 port=$2 dir=$3 listen_opts=$4 http_extra=$5 body=$6
    mkdir -p "$dir/logs"
    cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
# One process: the kill -9 of the test cleanup leaves no orphaned worker
# holding the test's stdout open.
master_process off;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    $http_extra
    server {
        listen 127.0.0.1:$port$listen_opts;
        $body
    }
}
CONF
    bg NGINX_PID ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir"
    wait_listen "$ns" "$port"
}
