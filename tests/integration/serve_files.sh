#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer serve and what lies in --root: a FIFO, a device node and a unix
# socket file answer 404 without an open that can block (six GET /fifo
# used to leave both workers in the FIFO's open, nothing else answered,
# SIGTERM ignored); other requests keep being answered; SIGTERM stops it.
. "$(dirname "$0")/../lib/lib.sh"
need_root
PORT=8080
tmp=$(mktemp -d); trap '__cleanup; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/www"
echo hello >"$tmp/www/index.html"
echo plain >"$tmp/www/a.txt"
mkfifo "$tmp/www/fifo"
mknod "$tmp/www/null" c 1 3
mknod "$tmp/www/tty" c 5 0 # /dev/tty: opening it without a terminal fails, with one it waits
/usr/bin/python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind('$tmp/www/sock')"
chmod -R a+rX "$tmp/www"
netns_new NS
py() { ip netns exec "$NS" timeout 20 /usr/bin/python3 -c "$@"; }
status() { # PATH...: the status line's code of each GET, one connection each
    py "
import socket, sys
for p in sys.argv[1:]:
    s = socket.create_connection(('127.0.0.1', $PORT)); s.settimeout(5)
    s.sendall(b'GET ' + p.encode() + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    try: d = s.recv(4096)
    except socket.timeout: d = b'timeout'
    print(d.split(b' ')[1].decode() if d.startswith(b'HTTP/') else 'none', end=' ')
" "$@"
}

bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --root "$tmp/www" --workers 2 \
    2>"$tmp/serve.err"
wait_listen "$NS" $PORT
# Six clients ask for the FIFO and wait; then 20 ordinary requests.
py "
import socket, time
held = []
for i in range(6):
    s = socket.create_connection(('127.0.0.1', $PORT))
    s.sendall(b'GET /fifo HTTP/1.1\r\nHost: x\r\n\r\n'); held.append(s)
open('$tmp/held', 'w').close()
time.sleep(4)" &
hold=$!
wait_for 5 test -e "$tmp/held"
r=$(status /fifo /null /tty /sock)
check_eq special_files_404 "$r" "404 404 404 404 "
r=$(status $(for i in $(seq 20); do echo /a.txt; done) | tr ' ' '\n' | grep -c '^200$')
check_eq others_answered_beside_fifo "$r" 20
check_eq regular_still_served "$(status / /a.txt /nope)" "200 200 404 "
kill -TERM "$SPID"
stopped=no
for i in $(seq 100); do kill -0 "$SPID" 2>/dev/null || { stopped=yes; break; }; sleep 0.1; done
check_eq sigterm_stops "$stopped" yes
# Unblock a wedged worker (the old behaviour) so cleanup never hangs.
[ $stopped = yes ] || timeout 2 sh -c "exec 3>'$tmp/www/fifo'" 2>/dev/null
wait $hold 2>/dev/null

# 2. Run as root, serve becomes --user (default nobody) after binding:
#    files are opened with that user's rights. A 0600 file of another
#    user, and a symlink to it made by nobody, answer 403 as nginx's
#    workers do (200 with the contents before); ordinary files are served.
echo secret >"$tmp/www/private.txt"
chown 12345:12345 "$tmp/www/private.txt"; chmod 600 "$tmp/www/private.txt"
chown nobody "$tmp/www"
su -s /bin/sh nobody -c "ln -s private.txt '$tmp/www/mylink.txt'"
chown root "$tmp/www"
bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --root "$tmp/www" --workers 2 \
    2>"$tmp/serve.err"
wait_listen "$NS" $PORT
check_eq root_private_403 "$(status /private.txt /mylink.txt /a.txt)" "403 403 200 "
n=$(id -u nobody)
check_eq root_every_thread_nobody "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/"$SPID"/task/*/status | sort -u)" \
    "$n $n $n $n"
kill -TERM "$SPID"; wait "$SPID" 2>/dev/null
# --user root keeps root, asked for in so many words (nginx's "user root;").
bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --root "$tmp/www" --user root \
    2>"$tmp/serve.err"
wait_listen "$NS" $PORT
check_eq user_root_keeps_root "$(status /private.txt)" "200 "
kill -TERM "$SPID"; wait "$SPID" 2>/dev/null
ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --root "$tmp/www" --user no-such-user-x \
    2>"$tmp/serve.err"
check_eq unknown_user_exit_2 "$? $(grep -c 'no such user' "$tmp/serve.err")" "2 1"
# A root only root can search: a warning, not a silent 403 for everything.
mkdir -m 700 "$tmp/closed"; echo x >"$tmp/closed/index.html"
bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --root "$tmp/closed" \
    2>"$tmp/serve.err"
wait_listen "$NS" $PORT
check_eq unsearchable_root_warned "$(status /) $(grep -c 'not searchable by uid' "$tmp/serve.err")" "403  1"
kill -TERM "$SPID"; wait "$SPID" 2>/dev/null

# 3. HEAD and 304 against nginx's headers, same file, same requests: the
#    same header names (but ETag and Accept-Ranges: closer sends neither),
#    the same Content-Type, Content-Length, Last-Modified and Connection.
#    A 304 carried Content-Length: 0 for a 6-byte file (RFC 9110 8.6);
#    nginx sends none, and Last-Modified.
. "$(dirname "$0")/../lib/nginx.sh"
touch -d '2026-01-02 03:04:05 UTC' "$tmp/www/a.txt" "$tmp/www/index.html"
nginx_run "$NS" 8081 "$tmp/ng" "" "" "root $tmp/www;"
bg SPID ip netns exec "$NS" "$CLOSER" serve --listen 127.0.0.1:$PORT --root "$tmp/www" 2>"$tmp/serve.err"
wait_listen "$NS" $PORT
heads() { # PORT: the heads of HEAD /a.txt, GET /a.txt with If-Modified-Since, HEAD / (index)
    py "
import socket
ims = 'Fri, 02 Jan 2026 03:04:05 GMT'
s = socket.create_connection(('127.0.0.1', $1)); s.settimeout(5)
s.sendall(b'HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'
          b'GET /a.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: ' + ims.encode() + b'\r\n\r\n'
          b'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
d = b''
while True:
    x = s.recv(65536)
    if not x: break
    d += x
skip = ('server', 'date', 'etag', 'accept-ranges')
for head in d.split(b'\r\n\r\n'):
    if not head: continue
    lines = head.decode().split('\r\n')
    print(lines[0], '|', ' '.join(sorted(l for l in lines[1:] if l.split(':')[0].lower() not in skip)))
"
}
want=$(heads 8081); got=$(heads $PORT)
echo "$want" | sed 's/^/# nginx: /'
check_eq head_and_304_as_nginx "$got" "$want"
check no_length_in_304 sh -c "echo '$got' | grep '^HTTP/1.1 304' | grep -vq Content-Length"
kill -TERM "$SPID"; wait "$SPID" 2>/dev/null
