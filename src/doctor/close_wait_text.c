/* SPDX-License-Identifier: MIT */
/* Title, why and fix of each CLOSE_WAIT class, per runtime. The evidence
 * sentence comes first in why; the fix names the knob of the program that
 * owns the sockets. */
#include <stdio.h>
#include <string.h>

#include "doctor/close_wait.h"

static void where(char *buf, size_t len, const struct cw_group *g)
{
    if (g->port >= 0)
        snprintf(buf, len, "port %d", g->port);
    else
        snprintf(buf, len, "outgoing connections");
}

static enum runtime rt_of(const struct proc_model *m)
{
    return m ? (enum runtime)m->runtime : RT_GENERIC;
}

/* The owner of the listener on port: the process whose accept loop is not
 * running. */
static const struct fd_ref *listener_owner(const struct snapshot *s, int port, uint32_t *backlog,
                                           uint32_t *queued)
{
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state != TS_LISTEN || t->sport != port)
            continue;
        *backlog = t->wqueue;
        *queued = t->rqueue;
        const struct fd_ref *r;
        if (snapshot_owners(s, t->inode, &r))
            return r;
    }
    return NULL;
}

/* The owner's epoll instances, as numbers() recorded them. */
static uint32_t epoll_instances(const struct finding *f)
{
    for (size_t i = 0; i < f->nfacts; i++)
        if (!strcmp(f->facts[i].key, "process_epoll_instances"))
            return (uint32_t)f->facts[i].value;
    return 0;
}

void cw_text_unaccepted(struct finding *f, const struct cw_group *g, const struct snapshot *s,
                        const char *age)
{
    uint32_t backlog = 0, queued = 0;
    const struct fd_ref *lo = listener_owner(s, g->port, &backlog, &queued);
    if (lo) {
        f->pid = lo->pid;
        snprintf(f->comm, sizeof f->comm, "%s", s->procs[lo->proc].comm);
        finding_add_fd(f, lo->fd);
        const struct proc_model *m = snapshot_model(s, lo->proc);
        if (m)
            f->runtime = runtime_name(m->runtime);
    }
    finding_fact(f, "accept_queue", queued);
    finding_fact(f, "backlog", backlog);
    snprintf(f->title, sizeof f->title,
             "port %d: %llu CLOSE_WAIT never accepted (accept queue %u/%u)%s%s", g->port, g->n,
             queued, backlog, lo ? ", listener owned by " : "", lo ? f->comm : "");
    snprintf(f->why, sizeof f->why,
             "These connections finished the handshake and wait in the accept queue of port %d "
             "(inode 0: no process owns them yet). Their clients gave up and sent FIN, so the "
             "kernel moved them to CLOSE_WAIT.%s accept() is not being called: the listener is "
             "not watched by the event loop, the accept loop stopped or is blocked, or the "
             "process is too busy to reach it.", g->port, age);
    snprintf(f->fix, sizeof f->fix,
             "Make sure the listening fd is registered with epoll/poll and that every wake-up "
             "accepts until EAGAIN; check for a blocked or dead accept thread (`cat "
             "/proc/PID/task/*/wchan`, a stack dump). Once accepted, these sockets read EOF and "
             "must be closed.");
}

void cw_text_hidden(struct finding *f, const struct cw_group *g, const struct snapshot *s,
                    const char *age)
{
    char w[64];
    where(w, sizeof w, g);
    if (!s->owners_read) {
        snprintf(f->title, sizeof f->title, "%s: %llu CLOSE_WAIT, owners not read", w, g->n);
        snprintf(f->why, sizeof f->why,
                 "The peer closed and a process still holds these sockets (recv_q %llu: %s), "
                 "but this run read no owners: %s.%s", g->recv_q,
                 g->recv_q ? "some EOF unread" : "every EOF read",
                 s->source_note[0] ? s->source_note : "owners were not asked for", age);
        snprintf(f->fix, sizeof f->fix, "Run closer doctor on the live host (as root) to name "
                 "the process and the class.");
        return;
    }
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT owned by a process closer cannot see", w, g->n);
    snprintf(f->why, sizeof f->why,
             "The peer closed and some process still holds these sockets open (they were still "
             "in the table when looked up again after the /proc walk), but its /proc/PID/fd is "
             "not readable: %s. closer cannot tell which process or whether the fd is polled.%s",
             s->visibility_limit[0] ? s->visibility_limit : "permission denied", age);
    snprintf(f->fix, sizeof f->fix, "Run closer doctor as root (or as the owner of the process) "
             "to classify them.");
}

void cw_text_not_closed(struct finding *f, const struct cw_group *g, const struct proc_model *m,
                        const char *age)
{
    char w[64];
    where(w, sizeof w, g);
    bool eof_read = g->recv_q == 0;
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT held by pid %d (%s): EOF %s, close() never called", w, g->n,
             (int)g->pid, f->comm, eof_read ? "read" : "delivered to a registered fd");
    const char *how = "";
    switch (rt_of(m)) {
    case RT_PYTHON:
        how = m->asyncio ? " asyncio read the EOF (reader.read() returned b'' or "
                           "Protocol.eof_received ran) and then dropped the fd from epoll, as "
                           "it always does; the transport stays open until it is closed."
                         : " Python read the EOF (recv() returned b'') and kept the socket.";
        break;
    case RT_NODE:
        how = " libuv read the EOF ('end' was emitted) and stopped polling the fd; with "
              "allowHalfOpen the socket's writable side stays open until the program ends it.";
        break;
    default: break;
    }
    snprintf(f->why, sizeof f->why,
             "The peer sent FIN and pid %d %s (recv_q %llu).%s So the process knows, yet "
             "close() never ran: a read()==0 path that does not close, an fd leak on an error "
             "path, or a handler stuck after the EOF.%s",
             (int)g->pid, eof_read ? "already read the EOF" : "has the fd registered in epoll, "
             "so the EOF was delivered", g->recv_q, how, age);
    const char *fix;
    switch (rt_of(m)) {
    case RT_PYTHON:
        fix = m->asyncio
                  ? "asyncio: when reader.read() returns b'', call writer.close() and await "
                    "writer.wait_closed(), in a finally: so every path closes; with a "
                    "Protocol, call transport.close() in eof_received() (or return a false "
                    "value from it so asyncio closes). Keeping writers in a registry (a set of "
                    "clients) keeps them alive: remove them on EOF."
                  : "Python: close the socket when recv() returns b'' (use `with conn:` or a "
                    "finally: block); socketserver closes when handle() returns, so a handler "
                    "that returns early is not this.";
        break;
    case RT_NODE:
        fix = "Node: call socket.end() (or socket.destroy()) in the 'end' handler, or do not "
              "set allowHalfOpen: true (net.createServer / net.Socket option); an http server "
              "with httpAllowHalfOpen keeps the socket until the pending response ends: finish "
              "every response (res.end(), also on errors and timeouts) or drop "
              "httpAllowHalfOpen.";
        break;
    case RT_JVM:
        fix = "JVM: close the Socket/SocketChannel when read() returns -1 "
              "(try-with-resources); in Netty with ALLOW_HALF_CLOSURE, close the channel on "
              "ChannelInputShutdownEvent.";
        break;
    case RT_GO:
        /* Go's netpoller keeps every fd in epoll; an outgoing one that
         * stays open after the server's FIN is an HTTP response body that
         * was never closed (the connection is not back in the pool). */
        fix = g->port < 0 ? "Go client: close every resp.Body (defer resp.Body.Close(), read to "
                            "EOF): an open body holds the connection outside the Transport's "
                            "pool, which would otherwise close it at the server's FIN."
                          : "Go: close the net.Conn when Read returns io.EOF (defer "
                            "conn.Close() at the top of the handler goroutine).";
        break;
    case RT_RUBY:
        fix = "Ruby: close the socket when read returns nil or raises EOFError (ensure "
              "socket.close).";
        break;
    default:
        fix = "Close the fd when read() returns 0 (nginx closes at once) and check error "
              "paths for a missing close(); look for stuck threads (`cat "
              "/proc/PID/task/*/stack`, gdb `thread apply all bt`).";
        break;
    }
    snprintf(f->fix, sizeof f->fix, "%s The fds are listed here; each holds a socket until "
             "closed.", fix);
}

void cw_text_not_polled(struct finding *f, const struct cw_group *g, const struct proc_model *m,
                        const char *age)
{
    char w[64];
    where(w, sizeof w, g);
    uint32_t nepoll = epoll_instances(f);
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT held by pid %d (%s), EOF unread, fds in no epoll set", w,
             g->n, (int)g->pid, f->comm);
    snprintf(f->why, sizeof f->why,
             "The peer sent FIN and the EOF is still unread (recv_q %llu), and none of these "
             "fds is in any of the %u epoll instances of pid %d, an event-loop process: the "
             "loop never hears of the EOF, so nothing reads or closes them.%s",
             g->recv_q, nepoll, (int)g->pid, age);
    const char *fix;
    switch (rt_of(m)) {
    case RT_NODE:
        fix = "Node polls a socket only while it is read: a socket paused (socket.pause(), "
              "a pipe whose destination never drains) is out of epoll. Resume it, or "
              "socket.setTimeout() with a 'timeout' handler that destroys it.";
        break;
    case RT_PYTHON:
        fix = "asyncio: transport.pause_reading() without resume_reading() takes the fd out "
              "of epoll; resume it, or bound the wait (asyncio.timeout / wait_for) and close "
              "the transport.";
        break;
    case RT_JVM:
        fix = "JVM NIO: register each accepted SocketChannel with the Selector (OP_READ), and "
              "close channels whose key was cancelled.";
        break;
    default:
        fix = "Register each accepted fd with epoll (EPOLLIN|EPOLLRDHUP) right after "
              "accept(), and audit the paths between accept() and epoll_ctl(ADD) that can "
              "return early without closing.";
        break;
    }
    snprintf(f->fix, sizeof f->fix, "%s `closer states -p -s close-wait` lists the fds; each "
             "costs an fd and its socket buffers until the process exits.", fix);
}

void cw_text_blocked(struct finding *f, const struct cw_group *g, const struct proc_model *m,
                     const char *age)
{
    char w[64], threads[160] = "its threads could not be read";
    where(w, sizeof w, g);
    if (m)
        cw_threads_text(threads, sizeof threads, m);
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT held by pid %d (%s), EOF unread, a thread per connection "
             "blocked elsewhere", w, g->n, (int)g->pid, f->comm);
    uint32_t nepoll = epoll_instances(f);
    char model[160];
    if (nepoll)
        snprintf(model, sizeof model, "serves each request on a worker thread of its own (its "
                 "%u epoll instances do not hold these fds, as a poller hands a connection to "
                 "a worker)", nepoll);
    else
        snprintf(model, sizeof model, "has no epoll instance: it serves each connection on a "
                 "thread of its own");
    snprintf(f->why, sizeof f->why,
             "The peer sent FIN and the EOF is unread (recv_q %llu). pid %d %s, and those "
             "threads are busy elsewhere, so nobody reads these sockets. Now %s.%s",
             g->recv_q, (int)g->pid, model, threads, age);
    const char *fix;
    switch (rt_of(m)) {
    case RT_PYTHON:
        fix = "Python threads (http.server, socketserver): put a timeout on the call the "
              "handler blocks in (requests timeout=, socket.settimeout(), the DB driver's "
              "timeouts) and set the handler class's timeout attribute "
              "(StreamRequestHandler.timeout) so a silent client ends the read; the "
              "connection closes when handle() returns.";
        break;
    case RT_JVM:
        fix = "JVM: set timeouts on the blocking calls (Socket.setSoTimeout, HttpClient "
              "connect/read timeouts, JDBC socketTimeout/queryTimeout; Tomcat "
              "connectionTimeout); a pool of blocked threads also stops serving.";
        break;
    case RT_RUBY:
        fix = "Ruby: timeouts on the blocking call (Net::HTTP open_timeout/read_timeout, the "
              "database's statement timeout); Puma worker_timeout in clustered mode.";
        break;
    case RT_PHP_FPM:
        fix = "php-fpm: request_terminate_timeout in the pool, and timeouts on curl "
              "(CURLOPT_TIMEOUT) and database calls.";
        break;
    default:
        fix = "Put a timeout on the call each thread blocks in (SO_RCVTIMEO, poll() with a "
              "timeout, the client library's timeouts) and close the connection when the "
              "handler returns or fails; threads in futex may be a deadlock (take a stack "
              "dump).";
        break;
    }
    snprintf(f->fix, sizeof f->fix, "%s Registering fds with epoll is not the fix here: each "
             "connection has its thread, and that thread is stuck.", fix);
}

void cw_text_pool(struct finding *f, const struct cw_group *g, const struct proc_model *m,
                  const char *age)
{
    char server[64];
    tcp_addr_format(server, g->family, g->peer_addr, g->peer_port);
    snprintf(f->dest, sizeof f->dest, "%s", server);
    char src[64];
    tcp_addr_format(src, g->family, g->local_addr, 0);
    *strrchr(src, ':') = 0; /* the address only: the ports differ */
    snprintf(f->source, sizeof f->source, "%.47s", src);
    finding_endpoint_set(&f->dest_ep, g->family, g->peer_addr, g->peer_port);
    finding_endpoint_set(&f->source_ep, g->family, g->local_addr, 0);
    finding_fact(f, "pool_established", (double)g->pool_estab);
    if (g->with_info) {
        finding_fact(f, "idle_before_fin_min_s", g->idle_min_ms / 100 / 10.0);
        finding_fact(f, "idle_before_fin_max_s", g->idle_max_ms / 100 / 10.0);
    }
    snprintf(f->title, sizeof f->title,
             "%llu idle pooled connection%s of pid %d (%s) to %s in CLOSE_WAIT: the server "
             "closed them", g->n, g->n == 1 ? "" : "s", (int)g->pid, f->comm, server);
    char idle[128] = "", growth[160];
    if (g->with_info && g->idle_max_ms - g->idle_min_ms < 100)
        snprintf(idle, sizeof idle, " (its FIN came %.1f s after the last response: about "
                 "that timeout)", g->idle_max_ms / 1000.0);
    else if (g->with_info)
        snprintf(idle, sizeof idle, " (its FINs came %.1f to %.1f s after the last response)",
                 g->idle_min_ms / 1000.0, g->idle_max_ms / 1000.0);
    if (g->fresh)
        snprintf(growth, sizeof growth, "Growing: %llu more appeared during the second look.",
                 g->fresh);
    else
        snprintf(growth, sizeof growth, "The pool holds %llu more ESTABLISHED to %s; %s",
                 g->pool_estab, server, "a bounded pool, not a leak, unless it keeps growing.");
    snprintf(f->why, sizeof f->why,
             "pid %d opened these connections to %s. Only the server's FIN is unread (recv_q 1 "
             "each): they sat idle in the client's connection pool, the server closed them at "
             "its keep-alive timeout%s, and the client has not touched them since; it finds "
             "out when it takes one out again.%s %s",
             (int)g->pid, server, idle, age, growth);
    const char *fix;
    switch (rt_of(m)) {
    case RT_PYTHON:
        fix = "requests/urllib3 keep idle connections with no idle timeout and notice the FIN "
              "only at the next checkout (then reconnect): the pile is bounded by "
              "pool_maxsize per host. Close Sessions when done (`with requests.Session() as "
              "s:`), size pool_maxsize (HTTPAdapter) to the real concurrency, and keep idle "
              "gaps below the server's keep-alive timeout (nginx keepalive_timeout) where "
              "reconnects hurt.";
        break;
    case RT_JVM:
        fix = "Evict idle connections before the server does: OkHttp ConnectionPool "
              "keepAliveDuration, Apache HttpClient evictIdleConnections / "
              "validateAfterInactivity, HikariCP idleTimeout and maxLifetime a few seconds "
              "below the server's timeout (keepaliveTime to validate).";
        break;
    case RT_GO:
        fix = "Go: set http.Transport IdleConnTimeout below the server's keep-alive timeout "
              "and close every resp.Body (an unread body keeps the connection out of the "
              "pool); database/sql: SetConnMaxIdleTime / SetConnMaxLifetime.";
        break;
    case RT_NODE:
        fix = "Node: an http.Agent with keepAlive closes a free socket at the server's FIN, "
              "so these are not being read: consume every response (res.resume()) and set "
              "the agent's timeout below the server's keep-alive timeout; a custom pool needs "
              "the same idle timeout.";
        break;
    default:
        fix = "Give the client's pool an idle timeout below the server's keep-alive timeout, "
              "validate connections on checkout (a read of 0 bytes means closed), and close "
              "pools that are no longer used.";
        break;
    }
    snprintf(f->fix, sizeof f->fix, "%s Each costs an fd until the client looks at it.", fix);
}
