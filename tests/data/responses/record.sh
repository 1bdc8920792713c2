#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records the raw responses in this directory from the servers installed
# here, once, as root, in a private network namespace (nothing listens
# outside it):  sudo unshare -n bash tests/data/responses/record.sh
# The unit tests replay the files; they never run this.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
ip link set lo up
cap() { python3 "$here/capture.py" "$@"; }
wait_port() { for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never listened" >&2; exit 1; }
mkdir -p "$tmp/htdocs/dir"
for n in 0 1 17 18 55 4096; do
    head -c "$n" /dev/zero | tr '\0' 'x' > "$tmp/htdocs/f$n"
done
printf 'a line of text that gzip turns into a chunked body\n%.0s' $(seq 40) > "$tmp/htdocs/text.txt"
printf 'ok\n' > "$tmp/htdocs/index.html"
chmod -R a+rX "$tmp"

# nginx 1.22 (8081): static files, gzip (chunked on 1.1, until-close on 1.0)
mkdir -p "$tmp/nginx/logs"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes 1; master_process off; daemon off; pid $tmp/nginx/pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off; client_body_temp_path $tmp/nginx/body; proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fcgi; uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;
    types { text/plain txt; text/html html; }
    default_type application/octet-stream;
    gzip on; gzip_min_length 1; gzip_types text/plain; gzip_http_version 1.0;
    keepalive_requests 3;
    server { listen 127.0.0.1:8081; root $tmp/htdocs; }
}
CONF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" & wait_port 8081
H='Host: t\r\nUser-Agent: closer-record\r\n'
for n in 0 1 17 18 55 4096; do cap 8081 "$here/nginx_200_$n.http" "GET /f$n HTTP/1.1\r\n$H\r\n"; done
cap 8081 "$here/nginx_200_chunked_gzip.http" "GET /text.txt HTTP/1.1\r\n${H}Accept-Encoding: gzip\r\n\r\n"
cap 8081 "$here/nginx_200_until_close_http10.http" "GET /text.txt HTTP/1.0\r\n${H}Accept-Encoding: gzip\r\n\r\n"
cap 8081 "$here/nginx_301.http" "GET /dir HTTP/1.1\r\n$H\r\n"
cap 8081 "$here/nginx_404.http" "GET /missing HTTP/1.1\r\n$H\r\n"
cap 8081 "$here/nginx_405_post.http" "POST /f1 HTTP/1.1\r\n${H}Content-Length: 4\r\nExpect: 100-continue\r\n\r\nbody"
cap 8081 "$here/nginx_connection_close.http" "GET /f17 HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
cap 8081 "$here/nginx_http10_keepalive.http" "GET /f18 HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n"
cap 8081 "$here/nginx_pipelined_3_cap.http" "GET /f1 HTTP/1.1\r\n$H\r\nGET /f17 HTTP/1.1\r\n$H\r\nGET /f18 HTTP/1.1\r\n$H\r\n"
cap 8081 "$here/nginx_400_bad_request.http" "GARBAGE\r\n\r\n"

# Apache httpd 2.4 (8082): Keep-Alive: timeout=, max=
m=/usr/lib/apache2/modules
mkdir -p "$tmp/apache/logs"
cat > "$tmp/apache/httpd.conf" <<CONF
ServerRoot "$tmp/apache"
ServerName record.test
Listen 127.0.0.1:8082
PidFile $tmp/apache/httpd.pid
ErrorLog $tmp/apache/logs/error.log
Mutex file:$tmp/apache
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dir_module $m/mod_dir.so
LoadModule mime_module $m/mod_mime.so
User nobody
Group nogroup
DocumentRoot "$tmp/htdocs"
<Directory "$tmp/htdocs">
    Require all granted
</Directory>
TypesConfig /etc/mime.types
KeepAlive On
MaxKeepAliveRequests 7
KeepAliveTimeout 3
CONF
apache2 -f "$tmp/apache/httpd.conf" -DFOREGROUND & wait_port 8082
cap 8082 "$here/apache_200_55.http" "GET /f55 HTTP/1.1\r\n$H\r\n"
cap 8082 "$here/apache_404.http" "GET /missing HTTP/1.1\r\n$H\r\n"
cap 8082 "$here/apache_http10_keepalive.http" "GET /f17 HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n"

# lighttpd 1.4 (8083)
cat > "$tmp/lighttpd.conf" <<CONF
server.document-root = "$tmp/htdocs"
server.bind = "127.0.0.1"
server.port = 8083
server.username = "nobody"
server.groupname = "nogroup"
index-file.names = ("index.html")
CONF
lighttpd -D -f "$tmp/lighttpd.conf" & wait_port 8083
cap 8083 "$here/lighttpd_200_18.http" "GET /f18 HTTP/1.1\r\n$H\r\n"

# Python http.server (8084): HTTP/1.0 answers, closes after each
(cd "$tmp/htdocs" && exec python3 -m http.server -b 127.0.0.1 8084) >/dev/null 2>&1 & wait_port 8084
cap 8084 "$here/python_http10_200_17.http" "GET /f17 HTTP/1.1\r\n$H\r\n"

# Varnish 7.1 (8085) in front of nginx: Via, Age, X-Varnish
varnishd -F -a 127.0.0.1:8085 -b 127.0.0.1:8081 -n "$tmp/varnish" -s malloc,16m >/dev/null 2>&1 & wait_port 8085
cap 8085 "$here/varnish_nginx_200_4096.http" "GET /f4096 HTTP/1.1\r\n$H\r\n"

# HAProxy 2.6 (8086) with its backend down: its own 503 page
cat > "$tmp/haproxy.cfg" <<CONF
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:8086
    default_backend be
backend be
    server s1 127.0.0.1:9
CONF
haproxy -db -f "$tmp/haproxy.cfg" >/dev/null 2>&1 & wait_port 8086
cap 8086 "$here/haproxy_503.http" "GET / HTTP/1.1\r\n$H\r\n" 6

# gunicorn 20.1 (8087, sync worker): 100 Continue before reading a body,
# chunked when the app gives no length, its own 500 page
cat > "$tmp/app.py" <<'PY'
def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"first part, ", b"second part, ", b"and the last one\n"]
    if path == "/fail":
        raise RuntimeError("recorded on purpose")
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]
PY
(cd "$tmp" && exec gunicorn -b 127.0.0.1:8087 -w 1 app:app) >/dev/null 2>&1 & wait_port 8087
cap 8087 "$here/gunicorn_100_continue_200.http" "POST /echo HTTP/1.1\r\n${H}Content-Length: 4\r\nExpect: 100-continue\r\n\r\nbody"
cap 8087 "$here/gunicorn_200_chunked.http" "GET /stream HTTP/1.1\r\n$H\r\n"
cap 8087 "$here/gunicorn_500.http" "GET /fail HTTP/1.1\r\n$H\r\n"
