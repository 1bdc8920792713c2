/* SPDX-License-Identifier: MIT */
/* The fix of a CLOSE_WAIT finding: one sentence per (class, runtime) — the
 * knob of the program that owns the sockets — then the class's closing
 * sentence. A class's RT_GENERIC row is its fallback; a row may apply only
 * to asyncio (or not) and only to outgoing (or accepted) connections. */
#include <stdio.h>

#include "doctor/close_wait.h"

enum fix_when { ANY, ASYNCIO, NO_ASYNCIO, OUTGOING, ACCEPTED };

struct fix_row {
    enum cw_class cls;
    enum runtime rt;
    enum fix_when when;
    const char *text;
};

static const struct fix_row fixes[] = {
    /* EOF read or delivered, close() never called. */
    {CW_NOT_CLOSED, RT_PYTHON, ASYNCIO,
     "asyncio: when reader.read() returns b'', call writer.close() and await "
     "writer.wait_closed(), in a finally: so every path closes; with a "
     "Protocol, call transport.close() in eof_received() (or return a false "
     "value from it so asyncio closes). Keeping writers in a registry (a set of "
     "clients) keeps them alive: remove them on EOF."},
    {CW_NOT_CLOSED, RT_PYTHON, NO_ASYNCIO,
     "Python: close the socket when recv() returns b'' (use `with conn:` or a "
     "finally: block); socketserver closes when handle() returns, so a handler "
     "that returns early is not this."},
    {CW_NOT_CLOSED, RT_NODE, ANY,
     "Node: call socket.end() (or socket.destroy()) in the 'end' handler, or do not "
     "set allowHalfOpen: true (net.createServer / net.Socket option); an http server "
     "with httpAllowHalfOpen keeps the socket until the pending response ends: finish "
     "every response (res.end(), also on errors and timeouts) or drop "
     "httpAllowHalfOpen."},
    {CW_NOT_CLOSED, RT_JVM, ANY,
     "JVM: close the Socket/SocketChannel when read() returns -1 "
     "(try-with-resources); in Netty with ALLOW_HALF_CLOSURE, close the channel on "
     "ChannelInputShutdownEvent."},
    /* Go's netpoller keeps every fd in epoll; an outgoing one that stays
     * open after the server's FIN is an HTTP response body that was never
     * closed (the connection is not back in the pool). */
    {CW_NOT_CLOSED, RT_GO, OUTGOING,
     "Go client: close every resp.Body (defer resp.Body.Close(), read to "
     "EOF): an open body holds the connection outside the Transport's "
     "pool, which would otherwise close it at the server's FIN."},
    {CW_NOT_CLOSED, RT_GO, ACCEPTED,
     "Go: close the net.Conn when Read returns io.EOF (defer "
     "conn.Close() at the top of the handler goroutine)."},
    {CW_NOT_CLOSED, RT_RUBY, ANY,
     "Ruby: close the socket when read returns nil or raises EOFError (ensure "
     "socket.close)."},
    {CW_NOT_CLOSED, RT_GENERIC, ANY,
     "Close the fd when read() returns 0 (nginx closes at once) and check error "
     "paths for a missing close(); look for stuck threads (`cat "
     "/proc/PID/task/*/stack`, gdb `thread apply all bt`)."},

    /* Event loop, fds in no epoll set. */
    {CW_NOT_POLLED, RT_NODE, ANY,
     "Node polls a socket only while it is read: a socket paused (socket.pause(), "
     "a pipe whose destination never drains) is out of epoll. Resume it, or "
     "socket.setTimeout() with a 'timeout' handler that destroys it."},
    {CW_NOT_POLLED, RT_PYTHON, ANY,
     "asyncio: transport.pause_reading() without resume_reading() takes the fd out "
     "of epoll; resume it, or bound the wait (asyncio.timeout / wait_for) and close "
     "the transport."},
    {CW_NOT_POLLED, RT_JVM, ANY,
     "JVM NIO: register each accepted SocketChannel with the Selector (OP_READ), and "
     "close channels whose key was cancelled."},
    {CW_NOT_POLLED, RT_GENERIC, ANY,
     "Register each accepted fd with epoll (EPOLLIN|EPOLLRDHUP) right after "
     "accept(), and audit the paths between accept() and epoll_ctl(ADD) that can "
     "return early without closing."},

    /* A thread per connection, blocked elsewhere. */
    {CW_BLOCKED_THREAD, RT_PYTHON, ANY,
     "Python threads (http.server, socketserver): put a timeout on the call the "
     "handler blocks in (requests timeout=, socket.settimeout(), the DB driver's "
     "timeouts) and set the handler class's timeout attribute "
     "(StreamRequestHandler.timeout) so a silent client ends the read; the "
     "connection closes when handle() returns."},
    {CW_BLOCKED_THREAD, RT_JVM, ANY,
     "JVM: set timeouts on the blocking calls (Socket.setSoTimeout, HttpClient "
     "connect/read timeouts, JDBC socketTimeout/queryTimeout; Tomcat "
     "connectionTimeout); a pool of blocked threads also stops serving."},
    {CW_BLOCKED_THREAD, RT_RUBY, ANY,
     "Ruby: timeouts on the blocking call (Net::HTTP open_timeout/read_timeout, the "
     "database's statement timeout); Puma worker_timeout in clustered mode."},
    {CW_BLOCKED_THREAD, RT_PHP_FPM, ANY,
     "php-fpm: request_terminate_timeout in the pool, and timeouts on curl "
     "(CURLOPT_TIMEOUT) and database calls."},
    {CW_BLOCKED_THREAD, RT_GENERIC, ANY,
     "Put a timeout on the call each thread blocks in (SO_RCVTIMEO, poll() with a "
     "timeout, the client library's timeouts) and close the connection when the "
     "handler returns or fails; threads in futex may be a deadlock (take a stack "
     "dump)."},

    /* Idle in a client's pool, closed by the server. */
    {CW_CLIENT_POOL, RT_PYTHON, ANY,
     "requests/urllib3 keep idle connections with no idle timeout and notice the FIN "
     "only at the next checkout (then reconnect): the pile is bounded by "
     "pool_maxsize per host. Close Sessions when done (`with requests.Session() as "
     "s:`), size pool_maxsize (HTTPAdapter) to the real concurrency, and keep idle "
     "gaps below the server's keep-alive timeout (nginx keepalive_timeout) where "
     "reconnects hurt."},
    {CW_CLIENT_POOL, RT_JVM, ANY,
     "Evict idle connections before the server does: OkHttp ConnectionPool "
     "keepAliveDuration, Apache HttpClient evictIdleConnections / "
     "validateAfterInactivity, HikariCP idleTimeout and maxLifetime a few seconds "
     "below the server's timeout (keepaliveTime to validate)."},
    {CW_CLIENT_POOL, RT_GO, ANY,
     "Go: set http.Transport IdleConnTimeout below the server's keep-alive timeout "
     "and close every resp.Body (an unread body keeps the connection out of the "
     "pool); database/sql: SetConnMaxIdleTime / SetConnMaxLifetime."},
    {CW_CLIENT_POOL, RT_NODE, ANY,
     "Node: an http.Agent with keepAlive closes a free socket at the server's FIN, "
     "so these are not being read: consume every response (res.resume()) and set "
     "the agent's timeout below the server's keep-alive timeout; a custom pool needs "
     "the same idle timeout."},
    {CW_CLIENT_POOL, RT_GENERIC, ANY,
     "Give the client's pool an idle timeout below the server's keep-alive timeout, "
     "validate connections on checkout (a read of 0 bytes means closed), and close "
     "pools that are no longer used."},
};

/* Said after the fix, whatever the runtime. */
static const char *const closing[CW_NCLASSES] = {
    [CW_NOT_CLOSED] = "The fds are listed here; each holds a socket until closed.",
    [CW_NOT_POLLED] = "`closer states -p -s close-wait` lists the fds; each costs an fd and "
                      "its socket buffers until the process exits.",
    [CW_BLOCKED_THREAD] = "Registering fds with epoll is not the fix here: each connection has "
                          "its thread, and that thread is stuck.",
    [CW_CLIENT_POOL] = "Each costs an fd until the client looks at it.",
};

static bool applies(enum fix_when w, const struct cw_group *g, const struct proc_model *m)
{
    switch (w) {
    case ASYNCIO: return m && m->asyncio;
    case NO_ASYNCIO: return !m || !m->asyncio;
    case OUTGOING: return g->port < 0;
    case ACCEPTED: return g->port >= 0;
    default: return true;
    }
}

void cw_fix(struct finding *f, enum cw_class cls, const struct cw_group *g,
            const struct proc_model *m)
{
    enum runtime rt = m ? (enum runtime)m->runtime : RT_GENERIC;
    const char *text = NULL, *generic = "";
    for (size_t i = 0; i < sizeof fixes / sizeof fixes[0] && !text; i++) {
        const struct fix_row *r = &fixes[i];
        if (r->cls != cls)
            continue;
        if (r->rt == RT_GENERIC)
            generic = r->text;
        else if (r->rt == rt && applies(r->when, g, m))
            text = r->text;
    }
    snprintf(f->fix, sizeof f->fix, "%s %s", text ? text : generic,
             closing[cls] ? closing[cls] : "");
}
