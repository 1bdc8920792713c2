/* SPDX-License-Identifier: MIT */
/* Title and why of each CLOSE_WAIT class, per runtime, and the fix from
 * cw_fix (close_wait_fix.c). The evidence sentence comes first in why. */
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

/* What a kernel wait channel means to the reader of a stack trace. */
static const char *wait_meaning(const char *wchan)
{
    static const struct { const char *prefix, *meaning; } w[] = {
        {"hrtimer_nanosleep", "sleep"},      {"wait_woken", "a socket read"},
        {"sk_wait_data", "a socket read"},   {"futex", "a lock or queue (futex)"},
        {"do_epoll_wait", "epoll_wait"},     {"ep_poll", "epoll_wait"},
        {"poll_schedule", "poll/select"},    {"do_sys_poll", "poll"},
        {"do_select", "select"},             {"core_sys_select", "select"},
        {"inet_csk_accept", "accept"},       {"pipe_read", "a pipe read"},
        {"do_wait", "waitpid"},              {"unix_stream", "a unix socket read"},
        {"running", "running"},              {"?", "a hidden place (wchan unreadable)"},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (!strncmp(wchan, w[i].prefix, strlen(w[i].prefix)))
            return w[i].meaning;
    return NULL;
}

/* "20 threads: 18 in sleep (hrtimer_nanosleep), 1 in poll, 1 running". */
static void cw_threads_text(char *buf, size_t len, const struct proc_model *m)
{
    size_t off = (size_t)snprintf(buf, len, "%u thread%s", m->nthreads,
                                  m->nthreads == 1 ? "" : "s");
    for (size_t i = 0; i < m->nwaits && off < len; i++) {
        const char *meaning = wait_meaning(m->waits[i].wchan);
        const char *wc = m->waits[i].wchan;
        if (meaning && strcmp(meaning, wc))
            off += (size_t)snprintf(buf + off, len - off, "%s %u in %s (%s)", i ? "," : ":",
                                    m->waits[i].n, meaning, wc);
        else
            off += (size_t)snprintf(buf + off, len - off, "%s %u in %s", i ? "," : ":",
                                    m->waits[i].n, wc);
    }
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
    return (uint32_t)finding_fact_value(f, "process_epoll_instances", 0);
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
        finding_program(f, doc_server(s, lo->proc));
        struct doc_proto pr;
        doc_proto_of_server(s, (uint16_t)g->port, &pr);
        finding_protocol(f, &pr);
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

/* How the owner's runtime passes an EOF on, in its own terms. */
static const char *eof_how(const struct cw_group *g)
{
    if (!g->prog)
        return "";
    if (!strcmp(g->prog->name, "python-asyncio"))
        return " asyncio reads the EOF (reader.read() returns b'' or Protocol.eof_received "
               "runs) and then drops the fd from epoll, as it always does; the transport stays "
               "open until it is closed.";
    if (g->prog->runtime == CR_PYTHON)
        return " In Python that is recv() returning b'' (or the FIN came with the last data "
               "and reading the data passed it too), and the socket was kept.";
    if (g->prog->runtime == CR_NODE)
        return " libuv read the EOF ('end' was emitted) and stopped polling the fd; with "
               "allowHalfOpen the socket's writable side stays open until the program ends it.";
    return "";
}

void cw_text_not_closed(struct finding *f, const struct cw_group *g, const char *age)
{
    char w[64];
    where(w, sizeof w, g);
    bool eof_read = g->recv_q == 0;
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT held by pid %d (%s): EOF %s, close() never called", w, g->n,
             (int)g->pid, f->comm, eof_read ? "probably read" : "delivered to a registered fd");
    /* recv_q 0 says the kernel passed the FIN to the reader; when the FIN
     * came with the last data, reading that data passed it too, so the
     * program may never have seen read() return 0. */
    snprintf(f->why, sizeof f->why,
             "The peer sent FIN and pid %d %s (recv_q %llu).%s So the process was told, yet "
             "close() never ran: a read()==0 path that does not close, an fd leak on an error "
             "path, a handler stuck after the EOF, or a connection nobody looks at any more.%s",
             (int)g->pid, eof_read ? "has probably read the EOF: the kernel passed the FIN to "
             "the reader (recv_q 0), which a read of the last data also does when the FIN came "
             "with it" : "has the fd registered in epoll, so the EOF was delivered", g->recv_q,
             eof_how(g), age);
    cw_fix(f, CW_NOT_CLOSED, g);
}

void cw_text_not_polled(struct finding *f, const struct cw_group *g, const char *age)
{
    char w[64];
    where(w, sizeof w, g);
    uint32_t nepoll = epoll_instances(f);
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT held by pid %d (%s), EOF unread, fds in no epoll set", w,
             g->n, (int)g->pid, f->comm);
    snprintf(f->why, sizeof f->why,
             "The peer sent FIN and the EOF is still unread (recv_q %llu), and none of these "
             "fds is in %s of pid %d, an event-loop process: the loop never hears of the EOF, "
             "so nothing reads or closes them.%s",
             g->recv_q, nepoll == 1 ? "its epoll instance" : "any of its epoll instances",
             (int)g->pid, age);
    cw_fix(f, CW_NOT_POLLED, g);
}

/* recv_q per socket: "recv_q 28 on each", "recv_q 0 to 1". */
static void rq_text(char *buf, size_t len, const struct cw_group *g)
{
    if (g->rq_min == g->rq_max)
        snprintf(buf, len, "recv_q %llu%s%s", g->rq_min, g->n > 1 ? " on each" : "",
                 g->rq_min ? "" : ": the FIN came with the last data, or was read");
    else
        snprintf(buf, len, "recv_q %llu to %llu", g->rq_min, g->rq_max);
}

void cw_text_blocked(struct finding *f, const struct cw_group *g, const struct proc_model *m,
                     const struct snapshot *s, const char *age)
{
    char w[64], threads[160] = "its threads could not be read";
    where(w, sizeof w, g);
    if (m)
        cw_threads_text(threads, sizeof threads, m);
    unsigned procs = g->npids + g->more_pids;
    char model[240], rq[96];
    rq_text(rq, sizeof rq, g);
    if (procs > 1) {
        /* what the children holding the sockets wait on, not the parent */
        struct proc_model kids = {0};
        for (unsigned i = 0; i < g->npids; i++) {
            const struct proc_model *k = snapshot_model(s, g->pid_procs[i]);
            for (size_t w = 0; k && w < k->nwaits; w++)
                for (uint32_t n = 0; n < k->waits[w].n; n++)
                    proctask_count_wait(&kids, k->waits[w].wchan);
        }
        if (kids.nthreads)
            cw_threads_text(threads, sizeof threads, &kids);
        snprintf(f->title, sizeof f->title,
                 "%s: %llu CLOSE_WAIT in %s%u processes sharing the listener of pid %d (%s), "
                 "a process per connection busy elsewhere", w, g->n,
                 g->more_pids ? "at least " : "", procs, (int)g->pid, f->comm);
        snprintf(model, sizeof model, "and %s%u processes that share its listener (pre-fork "
                 "or forking children) serve one connection each", g->more_pids ? "at least " : "",
                 procs);
        snprintf(f->why, sizeof f->why,
                 "The peer sent FIN (%s). pid %d %s, and those processes are busy elsewhere, so "
                 "nobody reads or closes these sockets: one problem, counted once. The "
                 "processes holding them: %s.%s",
                 rq, (int)g->pid, model, threads, age);
        cw_fix(f, CW_BLOCKED_THREAD, g);
        return;
    }
    snprintf(f->title, sizeof f->title,
             "%s: %llu CLOSE_WAIT held by pid %d (%s), EOF unread, a thread per connection "
             "blocked elsewhere", w, g->n, (int)g->pid, f->comm);
    uint32_t nepoll = epoll_instances(f);
    if (nepoll)
        snprintf(model, sizeof model, "serves each request on a worker thread of its own (%s "
                 "not hold these fds, as a poller hands a connection to a worker)",
                 nepoll == 1 ? "its epoll instance does" : "its epoll instances do");
    else
        snprintf(model, sizeof model, "has no epoll instance: it serves each connection on a "
                 "thread of its own");
    snprintf(f->why, sizeof f->why,
             "The peer sent FIN and the EOF is unread (%s). pid %d %s, and those threads are "
             "busy elsewhere, so nobody reads these sockets. Now %s.%s",
             rq, (int)g->pid, model, threads, age);
    cw_fix(f, CW_BLOCKED_THREAD, g);
}

/* What is unread on the group's sockets: the FIN alone, the same goodbye
 * on each, or a mix. */
static void unread_text(char *buf, size_t len, const struct cw_group *g)
{
    const char *goodbye = catalog_proto_goodbye(g->proto.proto);
    if (g->rq_min == 1 && g->rq_max == 1)
        snprintf(buf, len, "Only the server's FIN is unread (recv_q 1 each)");
    else if (g->rq_min == g->rq_max && g->rq_min > 1)
        snprintf(buf, len, "Each holds the same %llu unread bytes and the FIN (recv_q %llu each): "
                 "the server said goodbye before closing%s%s", g->rq_min - 1, g->rq_min,
                 *goodbye ? " (" : "", *goodbye ? goodbye : "");
    else if (g->rq_max == 0)
        snprintf(buf, len, "The client has probably read the FIN (recv_q 0) and kept the "
                 "connections");
    else
        snprintf(buf, len, "The server's FIN is unread on some (recv_q %llu to %llu; where it is "
                 "0 the FIN came with the last data, or was read)", g->rq_min, g->rq_max);
    if (g->rq_min == g->rq_max && g->rq_min > 1 && *goodbye) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, ")");
    }
}

void cw_text_pool(struct finding *f, const struct cw_group *g, const char *age)
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
        finding_fact(f, "idle_before_fin_min_s", (double)((g->idle_min_ms + 50) / 100) / 10.0);
        finding_fact(f, "idle_before_fin_max_s", (double)((g->idle_max_ms + 50) / 100) / 10.0);
    }
    char unread[400];
    unread_text(unread, sizeof unread, g);
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
             "pid %d opened these connections to %s. %s: they sat idle in the client's "
             "connection pool, the server closed them at its idle timeout%s, and the client has "
             "not touched them since; it finds out when it takes one out again.%s %s",
             (int)g->pid, server, unread, idle, age, growth);
    cw_fix(f, CW_CLIENT_POOL, g);
}
