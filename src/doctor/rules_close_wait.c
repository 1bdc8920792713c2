/* CLOSE_WAIT: the peer sent its FIN and our program has not called close().
 * Where the socket is tells which code path forgot:
 *   no inode, in a listener's accept queue  -> close-wait-unaccepted
 *   owned fd in no epoll set of its process -> close-wait-not-polled
 *   owned fd registered in epoll            -> close-wait-not-closed
 *   owned, but the owner is not visible     -> close-wait-owner-hidden */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"

enum cw_class { CW_UNACCEPTED, CW_NOT_POLLED, CW_NOT_CLOSED, CW_HIDDEN };

static const char *const cw_ids[] = {"close-wait-unaccepted", "close-wait-not-polled",
                                     "close-wait-not-closed", "close-wait-owner-hidden"};

struct cw_group {
    enum cw_class cls;
    pid_t pid;
    int port;
    uint32_t proc; /* index into snapshot procs when pid != 0 */
    unsigned long long n, recv_q;
    int fds[FINDING_MAX_FDS];
    size_t nfds;
};

struct cw_groups {
    struct cw_group *g;
    size_t n, cap;
};

static struct cw_group *group_for(struct cw_groups *gs, enum cw_class cls, pid_t pid, int port)
{
    for (size_t i = gs->n; i-- > 0;)
        if (gs->g[i].cls == cls && gs->g[i].pid == pid && gs->g[i].port == port)
            return &gs->g[i];
    if (gs->n == gs->cap) {
        size_t cap = gs->cap ? gs->cap * 2 : 16;
        struct cw_group *n = realloc(gs->g, cap * sizeof *n);
        if (!n)
            return NULL;
        gs->g = n;
        gs->cap = cap;
    }
    struct cw_group *g = &gs->g[gs->n++];
    *g = (struct cw_group){.cls = cls, .pid = pid, .port = port};
    return g;
}

/* The owner of the listener on port, for unaccepted connections: the
 * process whose accept loop is not running. */
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

static int classify(const struct snapshot *s, const struct tcp_sock *t, struct cw_groups *gs,
                    struct doctor_report *r)
{
    int port = snapshot_is_listen_port(s, t->sport) ? t->sport : -1;
    const struct fd_ref *refs;
    size_t nref = snapshot_owners(s, t->inode, &refs);
    struct cw_group *g;
    if (t->inode == 0) {
        g = group_for(gs, CW_UNACCEPTED, 0, t->sport);
        r->close_wait_unaccepted++;
    } else if (nref == 0) {
        g = group_for(gs, CW_HIDDEN, 0, port);
    } else {
        bool polled = false;
        for (size_t i = 0; i < nref; i++)
            polled |= refs[i].polled;
        g = group_for(gs, polled ? CW_NOT_CLOSED : CW_NOT_POLLED, refs[0].pid, port);
        if (g) {
            g->proc = refs[0].proc;
            if (g->nfds < FINDING_MAX_FDS)
                g->fds[g->nfds++] = refs[0].fd;
        }
        r->close_wait_owned++;
    }
    if (!g)
        return -1;
    g->n++;
    g->recv_q += t->rqueue;
    return 0;
}

static void describe(struct finding *f, const struct cw_group *g, const struct snapshot *s)
{
    char where[64];
    if (g->port >= 0)
        snprintf(where, sizeof where, "port %d", g->port);
    else
        snprintf(where, sizeof where, "outgoing connections");
    f->count = g->n;
    f->port = g->port;
    f->recv_q = g->recv_q;
    /* Includes the FIN's sequence number until the process reads EOF. */
    finding_fact(f, "recv_q", (double)g->recv_q);
    if (g->cls == CW_UNACCEPTED) {
        uint32_t backlog = 0, queued = 0;
        const struct fd_ref *lo = listener_owner(s, g->port, &backlog, &queued);
        if (lo) {
            f->pid = lo->pid;
            snprintf(f->comm, sizeof f->comm, "%s", s->procs[lo->proc].comm);
            finding_add_fd(f, lo->fd);
        }
        finding_fact(f, "accept_queue", queued);
        finding_fact(f, "backlog", backlog);
        snprintf(f->title, sizeof f->title,
                 "port %d: %llu CLOSE_WAIT never accepted (accept queue %u/%u)%s%s", g->port,
                 g->n, queued, backlog, lo ? ", listener owned by " : "", lo ? f->comm : "");
        snprintf(f->why, sizeof f->why,
                 "These connections finished the handshake and wait in the accept queue of port "
                 "%d (inode 0: no process owns them yet). Their clients gave up and sent FIN, so "
                 "the kernel moved them to CLOSE_WAIT. accept() is not being called: the "
                 "listener is not watched by the event loop, the accept loop stopped or is "
                 "blocked, or the process is too busy to reach it.", g->port);
        snprintf(f->fix, sizeof f->fix,
                 "Make sure the listening fd is registered with epoll/poll and that every "
                 "wake-up accepts until EAGAIN; check for a blocked or dead accept thread "
                 "(`cat /proc/PID/task/*/wchan`, a stack dump). Once accepted, these sockets "
                 "read EOF and must be closed.");
        return;
    }
    if (g->cls == CW_HIDDEN) {
        snprintf(f->title, sizeof f->title, "%s: %llu CLOSE_WAIT owned by a process closer cannot "
                 "see", where, g->n);
        snprintf(f->why, sizeof f->why,
                 "The peer closed and some process still holds these sockets open, but its "
                 "/proc/PID/fd is not readable by this user, so closer cannot tell which "
                 "process or whether the fd is polled.");
        snprintf(f->fix, sizeof f->fix, "Run closer doctor as root (or as the owner of the "
                 "process) to classify them.");
        return;
    }
    const struct proc_info *p = &s->procs[g->proc];
    f->pid = g->pid;
    snprintf(f->comm, sizeof f->comm, "%s", p->comm);
    for (size_t i = 0; i < g->nfds; i++)
        finding_add_fd(f, g->fds[i]);
    finding_fact(f, "process_fds", p->nfds);
    if (p->fd_limit)
        finding_fact(f, "process_fd_limit", (double)p->fd_limit);
    finding_fact(f, "process_epoll_instances", p->nepoll);
    if (g->cls == CW_NOT_POLLED) {
        snprintf(f->title, sizeof f->title,
                 "%s: %llu CLOSE_WAIT held by pid %d (%s), fds in no epoll set", where, g->n,
                 (int)g->pid, p->comm);
        snprintf(f->why, sizeof f->why,
                 "The peer sent FIN, and pid %d still holds these fds, but none of them is "
                 "registered in any of its %u epoll instances (/proc/%d/fdinfo), so the event "
                 "loop will never see the EOF and never close them.%s",
                 (int)g->pid, p->nepoll, (int)g->pid,
                 p->nepoll == 0 ? " The process uses no epoll at all: a thread per connection "
                                  "that is blocked elsewhere, or fds handed off and forgotten."
                                : "");
        snprintf(f->fix, sizeof f->fix,
                 "Register each accepted fd with epoll (EPOLLIN|EPOLLRDHUP) right after "
                 "accept(), and audit the paths between accept() and epoll_ctl(ADD) that can "
                 "return early without closing. `closer states -p -s close-wait` lists the "
                 "fds; each costs an fd and its socket buffers until the process exits.");
    } else {
        snprintf(f->title, sizeof f->title,
                 "%s: %llu CLOSE_WAIT held by pid %d (%s), fds registered in epoll but never "
                 "closed", where, g->n, (int)g->pid, p->comm);
        snprintf(f->why, sizeof f->why,
                 "The peer sent FIN and these fds are in pid %d's epoll interest list, so the "
                 "EOF was delivered (read() returned 0 / EPOLLRDHUP), yet close() never ran: a "
                 "read()==0 path that does not close, an fd leak on an error path, or a "
                 "thread stuck (deadlock, blocked call) holding the connection.", (int)g->pid);
        snprintf(f->fix, sizeof f->fix,
                 "Close the fd when read() returns 0 (nginx closes at once); check error paths "
                 "for missing close(); look for stuck threads (`cat /proc/%d/task/*/stack`, "
                 "gdb `thread apply all bt`). The fds are listed here; each holds a socket "
                 "until closed.", (int)g->pid);
    }
}

static int by_count(const void *a, const void *b)
{
    const struct cw_group *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The CLOSE_WAIT of the first --confirm look that were closed by the
 * second: counted as transient beside the new ones that did not persist. */
static size_t closed_since_first_look(const struct snapshot *s, size_t persisted)
{
    return s->confirm_s > 0 && s->ncw_before > persisted ? s->ncw_before - persisted : 0;
}

int rules_close_wait(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    struct cw_groups gs = {0};
    size_t persisted = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state != TS_CLOSE_WAIT)
            continue;
        if (snapshot_sock_gone(s, t)) {
            r->close_wait_gone++;
            continue;
        }
        if (!snapshot_cw_persisted(s, t)) {
            r->close_wait_transient++;
            continue;
        }
        persisted++;
        if (classify(s, t, &gs, r) < 0) {
            free(gs.g);
            return -1;
        }
    }
    r->close_wait_transient += closed_since_first_look(s, persisted);
    if (gs.n)
        qsort(gs.g, gs.n, sizeof *gs.g, by_count);
    int rc = 0;
    for (size_t i = 0; i < gs.n && !rc; i++) {
        const struct cw_group *g = &gs.g[i];
        enum severity sev = g->n >= o->close_wait_crit   ? SEV_CRITICAL
                            : g->n >= o->close_wait_warn ? SEV_WARNING
                                                         : SEV_INFO;
        struct finding *f = doctor_add(r, cw_ids[g->cls], sev);
        if (!f)
            rc = -1;
        else
            describe(f, g, s);
    }
    free(gs.g);
    return rc;
}
