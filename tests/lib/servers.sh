# SPDX-License-Identifier: MIT
# Real servers as referees for load and probe, each started by hand inside a
# namespace with its own config in a temp dir (no system service, no
# system config). Source after lib.sh. Every function: NS PORT DIR [knobs].
# Apache, lighttpd and h2o drop to nobody: DIR's parents must be readable
# (chmod 755 the test's mktemp -d). Their logs go to the test's stderr.
# All serve "ok\n" (or a small file) on 127.0.0.1:PORT, then wait_listen.

# Node's http module: keepAliveTimeout (ms), maxRequestsPerSocket (0 = none).
node_start() {
    local ns=$1 port=$2 dir=$3 ka_ms=${4:-5000} max=${5:-0}
    mkdir -p "$dir"
    cat > "$dir/server.js" <<'JS'
const http = require('http');
const [port, ka, max] = process.argv.slice(2).map(Number);
const s = http.createServer((req, res) => res.end('ok\n'));
s.keepAliveTimeout = ka;
s.maxRequestsPerSocket = max;
s.listen(port, '127.0.0.1');
JS
    bg NODE_PID ip netns exec "$ns" node "$dir/server.js" "$port" "$ka_ms" "$max"
    wait_listen "$ns" "$port"
}

# Python's http.server: PROTO HTTP/1.0 (the default: no keep-alive) or
# HTTP/1.1 (keep-alive; TIMEOUT s idle, the handler's timeout attribute).
python_start() {
    local ns=$1 port=$2 dir=$3 proto=${4:-HTTP/1.0} timeout=${5:-None}
    mkdir -p "$dir"
    cat > "$dir/server.py" <<PY
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "$proto"
    timeout = $timeout
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", $port), H).serve_forever()
PY
    bg PY_PID ip netns exec "$ns" /usr/bin/python3 "$dir/server.py"
    wait_listen "$ns" "$port"
}

# Apache httpd (mpm_event): MaxKeepAliveRequests, KeepAliveTimeout (s).
apache_start() {
    local ns=$1 port=$2 dir=$3 max=${4:-100} timeout=${5:-5}
    local m=/usr/lib/apache2/modules
    mkdir -p "$dir/htdocs" "$dir/logs"
    printf 'ok\n' > "$dir/htdocs/index.html"
    chmod -R a+rX "$dir"
    cat > "$dir/httpd.conf" <<CONF
ServerRoot "$dir"
ServerName probe.test
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/logs/error.log
Mutex file:$dir
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dir_module $m/mod_dir.so
LoadModule mime_module $m/mod_mime.so
User nobody
Group nogroup
DocumentRoot "$dir/htdocs"
<Directory "$dir/htdocs">
    Require all granted
</Directory>
DirectoryIndex index.html
TypesConfig /etc/mime.types
KeepAlive On
MaxKeepAliveRequests $max
KeepAliveTimeout $timeout
CONF
    bg APACHE_PID ip netns exec "$ns" apache2 -f "$dir/httpd.conf" -DFOREGROUND
    wait_listen "$ns" "$port"
}

# lighttpd: server.max-keep-alive-requests, server.max-keep-alive-idle (s).
lighttpd_start() {
    local ns=$1 port=$2 dir=$3 max=${4:-1000} idle=${5:-5}
    mkdir -p "$dir/htdocs"
    printf 'ok\n' > "$dir/htdocs/index.html"
    chmod -R a+rX "$dir"
    cat > "$dir/lighttpd.conf" <<CONF
server.document-root = "$dir/htdocs"
server.bind = "127.0.0.1"
server.port = $port
server.username = "nobody"
server.groupname = "nogroup"
index-file.names = ("index.html")
server.max-keep-alive-requests = $max
server.max-keep-alive-idle = $idle
CONF
    bg LIGHTTPD_PID ip netns exec "$ns" lighttpd -D -f "$dir/lighttpd.conf"
    wait_listen "$ns" "$port"
}

# h2o: http1-request-timeout (s), the keep-alive idle timeout of HTTP/1.
h2o_start() {
    local ns=$1 port=$2 dir=$3 timeout=${4:-10}
    mkdir -p "$dir/htdocs"
    printf 'ok\n' > "$dir/htdocs/index.html"
    chmod -R a+rX "$dir"
    cat > "$dir/h2o.conf" <<CONF
user: nobody
num-threads: 1
http1-request-timeout: $timeout
listen:
  host: 127.0.0.1
  port: $port
hosts:
  default:
    paths:
      /:
        file.dir: $dir/htdocs
CONF
    bg H2O_PID ip netns exec "$ns" h2o -c "$dir/h2o.conf"
    wait_listen "$ns" "$port"
}

# HAProxy in front of BACKEND_PORT: timeout http-keep-alive (s); MODE
# keep-alive (the default) or server-close (option http-server-close).
haproxy_start() {
    local ns=$1 port=$2 dir=$3 backend=$4 ka=${5:-2} mode=${6:-keep-alive}
    mkdir -p "$dir"
    local opt=""
    [ "$mode" = server-close ] && opt="option http-server-close"
    cat > "$dir/haproxy.cfg" <<CONF
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive ${ka}s
    $opt
frontend fe
    bind 127.0.0.1:$port
    default_backend be
backend be
    server s1 127.0.0.1:$backend
CONF
    bg HAPROXY_PID ip netns exec "$ns" haproxy -db -f "$dir/haproxy.cfg"
    wait_listen "$ns" "$port"
}
