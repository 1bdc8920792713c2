/* SPDX-License-Identifier: MIT */
/* CLOSE_WAIT: the peer sent its FIN and our program has not called close().
 * No single signal decides the class; the evidence per socket is where it
 * sits, who owns it, whether the EOF was read (recv_q counts the FIN's
 * sequence number until the process reads EOF), the direction, and the
 * owner's process model:
 *   inode 0, in a listener's accept queue          -> close-wait-unaccepted
 *   owned, but the owner is not visible            -> close-wait-owner-hidden
 *   outgoing, not polled, and the process's group to that server has an
 *     EOF unread (the FIN alone, or a goodbye before it: PostgreSQL's
 *     FATAL) or a FIN that came after an idle time -> close-wait-client-pool
 *     (decided per process and server, so packet timing never splits one
 *     pool: a FIN that came with the last data leaves recv_q 0 too)
 *   EOF read (recv_q 0), or fd registered in epoll -> close-wait-not-closed
 *   accepted, EOF unread, a thread or process per connection
 *                                                  -> close-wait-blocked-thread
 *     (no epoll at all, or a JVM/Ruby/PHP/threaded Python process with as
 *     many threads busy outside epoll_wait as such sockets); children that
 *     share the listener are one group, under the listener's first owner
 *   EOF unread, otherwise an event loop            -> close-wait-not-polled
 * Outgoing sockets are never "a thread per connection": that is a server's
 * model.
 * asyncio and libuv read the EOF and then drop the fd from epoll, so "in no
 * epoll set" alone proves nothing. Sockets closed between the dump and the
 * /proc walk, and (with --confirm) those not there at both looks, are
 * counted apart and make no finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/close_wait.h"
#include "doctor/program.h"
#include "snapshot/peers.h"
#include "util/vec.h"

struct cw_groups {
    struct cw_group *g;
    size_t n, cap;
    uint32_t *slots; /* open addressing over g: index + 1 */
    size_t nslots;
};

static uint64_t group_hash(enum cw_class cls, pid_t pid, int port, const uint8_t addr[16],
                           uint16_t peer_port)
{
    uint64_t h = 1469598103934665603ull;
    h = (h ^ (uint64_t)cls) * 1099511628211ull;
    h = (h ^ (uint64_t)(uint32_t)pid) * 1099511628211ull;
    h = (h ^ (uint64_t)(uint32_t)port) * 1099511628211ull;
    h = (h ^ peer_port) * 1099511628211ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 1099511628211ull;
    return h;
}

static bool group_is(const struct cw_group *g, enum cw_class cls, pid_t pid, int port,
                     const uint8_t addr[16], uint16_t peer_port)
{
    return g->cls == cls && g->pid == pid && g->port == port && g->peer_port == peer_port &&
           !memcmp(g->peer_addr, addr, 16);
}

static int rehash(struct cw_groups *gs)
{
    size_t n = gs->nslots ? gs->nslots * 2 : 64;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < gs->n; i++) {
        const struct cw_group *g = &gs->g[i];
        size_t h = group_hash(g->cls, g->pid, g->port, g->peer_addr, g->peer_port) & (n - 1);
        while (slots[h])
            h = (h + 1) & (n - 1);
        slots[h] = (uint32_t)i + 1;
    }
    free(gs->slots);
    gs->slots = slots;
    gs->nslots = n;
    return 0;
}

/* The group of (class, pid, local port, server address): one finding each. */
static struct cw_group *group_for(struct cw_groups *gs, enum cw_class cls, pid_t pid, int port,
                                  const uint8_t addr[16], uint16_t peer_port)
{
    if ((gs->n + 1) * 2 > gs->nslots && rehash(gs) < 0)
        return NULL;
    size_t h = group_hash(cls, pid, port, addr, peer_port) & (gs->nslots - 1);
    for (; gs->slots[h]; h = (h + 1) & (gs->nslots - 1))
        if (group_is(&gs->g[gs->slots[h] - 1], cls, pid, port, addr, peer_port))
            return &gs->g[gs->slots[h] - 1];
    if (vec_reserve((void **)&gs->g, &gs->cap, gs->n + 1, sizeof *gs->g, 16) < 0)
        return NULL;
    struct cw_group *g = &gs->g[gs->n];
    *g = (struct cw_group){.cls = cls, .pid = pid, .port = port, .peer_port = peer_port};
    memcpy(g->peer_addr, addr, 16);
    gs->slots[h] = (uint32_t)++gs->n;
    return g;
}

/* Is the process serving connections on threads of their own? No epoll
 * at all says so. A JVM, Ruby, PHP or threaded Python process keeps epoll
 * instances for other work (NIO pollers hand a connection to a worker and
 * drop it from epoll meanwhile), so there the threads decide: as many
 * threads busy outside epoll_wait as unread, unpolled CLOSE_WAIT. Event
 * loops (Node, asyncio, Go's netpoller, nginx, HAProxy, Envoy) never. */
static bool thread_per_connection(const struct snapshot *s, uint32_t proc, uint32_t unread)
{
    if (s->procs[proc].nepoll == 0)
        return true;
    const struct proc_model *m = snapshot_model(s, proc);
    if (!m)
        return false;
    struct cat_evidence ev;
    doc_evidence(s, proc, &ev);
    enum cat_runtime rt = catalog_runtime(&ev);
    if (rt == CR_PYTHON && strstr(ev.libs, ";_asyncio;"))
        return false; /* an asyncio loop: its epoll instance serves every connection */
    if (rt != CR_JVM && rt != CR_RUBY && rt != CR_PHP && rt != CR_PYTHON)
        return false;
    uint32_t in_epoll = 0;
    for (size_t i = 0; i < m->nwaits; i++)
        if (!strncmp(m->waits[i].wchan, "do_epoll_wait", 13) ||
            !strncmp(m->waits[i].wchan, "ep_poll", 7))
            in_epoll += m->waits[i].n;
    return m->nthreads - in_epoll >= unread;
}

/* A FIN this long after the last data came from an idle timeout. */
#define POOL_IDLE_MS 500

/* Evidence that one outgoing socket sat idle in a pool until the server
 * closed it: its EOF is unread (the FIN alone, or after a goodbye), or the
 * FIN came after an idle time. */
static bool pool_evidence(const struct snapshot *s, const struct tcp_sock *t)
{
    if (t->rqueue > 0)
        return true;
    const struct tcp_activity *a = snapshot_activity(s, t);
    return a && a->last_data_recv_ms >= a->last_ack_recv_ms + POOL_IDLE_MS;
}

static bool any_polled(const struct fd_ref *refs, size_t nref)
{
    for (size_t i = 0; i < nref; i++)
        if (refs[i].polled)
            return true;
    return false;
}

/* Per process: owned CLOSE_WAIT of accepted connections with the EOF
 * unread and the fd in no epoll set (what thread_per_connection weighs). */
/* Per process: unread (above) and how many accepted connections it holds
 * in any state (a pre-fork child holds one). */
struct proc_count {
    uint32_t unread, accepted;
    bool threaded; /* thread_per_connection, decided once per process */
};

static struct proc_count *count_unread(const struct snapshot *s)
{
    struct proc_count *c = calloc(s->nprocs ? s->nprocs : 1, sizeof *c);
    for (size_t i = 0; c && i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        const struct fd_ref *refs;
        size_t nref;
        if (t->state == TS_LISTEN || !(nref = snapshot_owners(s, t->inode, &refs)) ||
            snapshot_conn_direction(s, t) != CONN_ACCEPTED)
            continue;
        c[refs[0].proc].accepted++;
        if (t->state == TS_CLOSE_WAIT && t->rqueue && !any_polled(refs, nref))
            c[refs[0].proc].unread++;
    }
    for (size_t p = 0; c && p < s->nprocs; p++)
        if (c[p].unread)
            c[p].threaded = thread_per_connection(s, (uint32_t)p, c[p].unread);
    return c;
}

static struct cw_group *group_find(const struct cw_groups *gs, enum cw_class cls, pid_t pid,
                                   int port, const uint8_t addr[16], uint16_t peer_port);

/* The class of an owned socket, from the EOF, the direction, epoll and the
 * process model; outgoing ones by their (process, server) group's evidence
 * (pools: the first pass). */
/* A child of a pre-fork or forking server serving its one connection:
 * it shares the port's listener with other processes and holds no other
 * accepted connection. Its own epoll (Apache watching a CGI's pipes) or a
 * FIN that came with the request (recv_q 0) change nothing: it is busy
 * elsewhere and this connection waits for it. */
static bool process_per_connection(const struct snapshot *s, const struct doc_ports *ports,
                                   const struct tcp_sock *t, const struct fd_ref *own,
                                   const struct proc_count *count)
{
    if (count[own->proc].accepted != 1)
        return false;
    const struct fd_ref *r;
    size_t n = doc_ports_listener_owners(s, ports, t->sport, &r);
    bool mine = false, others = false;
    for (size_t i = 0; i < n; i++) {
        mine |= r[i].pid == own->pid;
        others |= r[i].pid != own->pid;
    }
    return mine && others;
}

static enum cw_class owned_class(const struct snapshot *s, const struct tcp_sock *t,
                                 const struct fd_ref *refs, size_t nref,
                                 const struct proc_count *count, const struct cw_groups *pools,
                                 const struct doc_ports *ports)
{
    bool polled = any_polled(refs, nref);
    if (!polled && snapshot_conn_direction(s, t) == CONN_OUTGOING) {
        const struct cw_group *p =
            group_find(pools, CW_CLIENT_POOL, refs[0].pid, -1, t->dst, t->dport);
        return p && p->pool_evidence ? CW_CLIENT_POOL : CW_NOT_CLOSED;
    }
    if (!polled && process_per_connection(s, ports, t, &refs[0], count))
        return CW_BLOCKED_THREAD;
    if (t->rqueue == 0 || polled)
        return CW_NOT_CLOSED;
    return count[refs[0].proc].threaded ? CW_BLOCKED_THREAD : CW_NOT_POLLED;
}

static struct cw_group *group_find(const struct cw_groups *gs, enum cw_class cls, pid_t pid,
                                   int port, const uint8_t addr[16], uint16_t peer_port)
{
    if (!gs->nslots)
        return NULL;
    size_t h = group_hash(cls, pid, port, addr, peer_port) & (gs->nslots - 1);
    for (; gs->slots[h]; h = (h + 1) & (gs->nslots - 1))
        if (group_is(&gs->g[gs->slots[h] - 1], cls, pid, port, addr, peer_port))
            return &gs->g[gs->slots[h] - 1];
    return NULL;
}

/* Processes sharing the listener of an accepted socket's port are one
 * group: the key is the listener's first owner when this process holds the
 * listener too (pre-fork and forking servers), else the process itself. */
static pid_t group_pid(const struct snapshot *s, const struct doc_ports *ports,
                       const struct tcp_sock *t, const struct fd_ref *own, uint32_t *proc)
{
    const struct fd_ref *r;
    size_t n = doc_ports_listener_owners(s, ports, t->sport, &r);
    *proc = own->proc;
    for (size_t i = 0; i < n; i++)
        if (r[i].pid == own->pid) {
            *proc = r[0].proc;
            return r[0].pid;
        }
    return own->pid;
}


static void add_pid(struct cw_group *g, pid_t pid, uint32_t proc)
{
    for (unsigned i = 0; i < g->npids; i++)
        if (g->pids[i] == pid)
            return;
    if (g->npids < CW_MAX_PIDS) {
        g->pid_procs[g->npids] = proc;
        g->pids[g->npids++] = pid;
    } else {
        g->more_pids = true;
    }
}

/* The first distinct peers (a client pool has one: the server). */
static void add_peer(struct cw_group *g, const struct tcp_sock *t)
{
    if (g->n == 1)
        memcpy(g->local_addr, t->src, 16);
    if (g->more_peers)
        return;
    struct finding_endpoint e;
    finding_endpoint_set(&e, t->family, t->dst, t->dport);
    for (size_t i = 0; i < g->npeers; i++)
        if (finding_endpoint_eq(&g->peers[i], &e))
            return;
    if (g->npeers == CW_MAX_PEERS)
        g->more_peers = true;
    else
        g->peers[g->npeers++] = e;
}

/* The FIN's age, and the silence before it: since the last data in, or,
 * when the server said goodbye before its FIN (more than the FIN unread:
 * those bytes came with it), since this side's last request. */
static void add_activity(struct cw_group *g, const struct tcp_activity *a, uint32_t rqueue)
{
    uint32_t age = a->last_ack_recv_ms;
    uint32_t last = rqueue > 1 ? a->last_data_sent_ms : a->last_data_recv_ms;
    uint32_t idle = last > age ? last - age : 0;
    if (!g->with_info++) {
        g->age_min_ms = g->age_max_ms = age;
        g->idle_min_ms = g->idle_max_ms = idle;
    }
    g->age_min_ms = age < g->age_min_ms ? age : g->age_min_ms;
    g->age_max_ms = age > g->age_max_ms ? age : g->age_max_ms;
    g->idle_min_ms = idle < g->idle_min_ms ? idle : g->idle_min_ms;
    g->idle_max_ms = idle > g->idle_max_ms ? idle : g->idle_max_ms;
    g->segs_in += a->data_segs_in;
}

/* What classify needs besides the socket. */
struct cw_ctx {
    const struct peer_index *ix;
    const struct proc_count *count;
    struct cw_groups *gs;
    const struct cw_groups *pools; /* outgoing, unpolled: per (process, server) */
    const struct doc_ports *ports; /* listeners by port */
};

static int classify(const struct snapshot *s, const struct tcp_sock *t, bool persisted,
                    const struct cw_ctx *c, struct doctor_report *r)
{
    struct cw_groups *gs = c->gs;
    static const uint8_t none[16];
    int port = snapshot_conn_direction(s, t) == CONN_ACCEPTED ? t->sport : -1;
    const struct fd_ref *refs;
    size_t nref = snapshot_owners(s, t->inode, &refs);
    struct cw_group *g;
    if (t->inode == 0) {
        g = group_for(gs, CW_UNACCEPTED, 0, t->sport, none, 0);
    } else if (nref == 0) {
        g = group_for(gs, CW_HIDDEN, 0, port, none, 0);
    } else {
        enum cw_class cls = owned_class(s, t, refs, nref, c->count, c->pools, c->ports);
        bool by_server = port < 0; /* outgoing: one group per (process, server) */
        uint32_t proc = refs[0].proc;
        pid_t key = port >= 0 ? group_pid(s, c->ports, t, &refs[0], &proc) : refs[0].pid;
        g = group_for(gs, cls, key, port, by_server ? t->dst : none, by_server ? t->dport : 0);
        if (g) {
            g->proc = proc;
            g->family = t->family;
        }
        if (g)
            add_pid(g, refs[0].pid, refs[0].proc);
    }
    if (!g)
        return -1;
    if (!persisted) { /* new since the first --confirm look */
        g->fresh++;
        r->close_wait_transient++;
        return 0;
    }
    if (t->inode == 0)
        r->close_wait_unaccepted++;
    else if (nref)
        r->close_wait_owned++;
    /* fds are per process: listed only for the group's own process */
    if (nref && g->nfds < FINDING_MAX_FDS && refs[0].pid == g->pid)
        g->fds[g->nfds++] = refs[0].fd;
    if (!g->n++ || t->rqueue < g->rq_min)
        g->rq_min = t->rqueue;
    if (t->rqueue > g->rq_max)
        g->rq_max = t->rqueue;
    g->recv_q += t->rqueue;
    add_peer(g, t);
    const struct tcp_activity *a = snapshot_activity(s, t);
    if (a)
        add_activity(g, a, t->rqueue);
    const struct tcp_sock *p = peers_find(c->ix, s, t);
    if (p && !g->peer_local++)
        g->peer_sock = p;
    return 0;
}

/* Client pools: the process's ESTABLISHED connections to the same server
 * (the rest of the pool), to tell a bounded pool from a growing pile. */
static void count_pool_peers(const struct snapshot *s, struct cw_groups *gs)
{
    bool any = false;
    for (size_t i = 0; i < gs->n; i++)
        any |= gs->g[i].cls == CW_CLIENT_POOL;
    if (!any)
        return;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        const struct fd_ref *refs;
        if (t->state != TS_ESTABLISHED || !snapshot_owners(s, t->inode, &refs))
            continue;
        if ((gs->n + 1) * 2 > gs->nslots)
            continue; /* the table is always sized before; never grows here */
        size_t h = group_hash(CW_CLIENT_POOL, refs[0].pid, -1, t->dst, t->dport) &
                   (gs->nslots - 1);
        for (; gs->slots[h]; h = (h + 1) & (gs->nslots - 1)) {
            struct cw_group *g = &gs->g[gs->slots[h] - 1];
            if (group_is(g, CW_CLIENT_POOL, refs[0].pid, -1, t->dst, t->dport)) {
                g->pool_estab++;
                break;
            }
        }
    }
}

static int by_count(const void *a, const void *b)
{
    const struct cw_group *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static enum severity severity_of(const struct cw_group *g, const struct doctor_opts *o)
{
    if (g->cls == CW_CLIENT_POOL) {
        /* A bounded pool is a client setting, not a leak: info for a few,
         * warning when large or still growing. */
        if (g->n >= o->close_wait_crit * 10)
            return SEV_CRITICAL;
        return g->n >= o->client_pool_warn || g->fresh ? SEV_WARNING : SEV_INFO;
    }
    return g->n >= o->close_wait_crit ? SEV_CRITICAL
           : g->n >= o->close_wait_warn ? SEV_WARNING
                                        : SEV_INFO;
}

/* The CLOSE_WAIT of the first --confirm look that were closed by the
 * second: counted as transient beside the new ones that did not persist. */
static size_t closed_since_first_look(const struct snapshot *s, size_t persisted)
{
    return s->confirm_s > 0 && s->ncw_before > persisted ? s->ncw_before - persisted : 0;
}

static int emit(const struct snapshot *s, const struct doctor_opts *o, struct cw_groups *gs,
                const struct doc_ports *ports, struct doctor_report *r)
{
    if (gs->n)
        qsort(gs->g, gs->n, sizeof *gs->g, by_count);
    for (size_t i = 0; i < gs->n; i++) {
        struct cw_group *g = &gs->g[i];
        if (!g->n)
            continue; /* only new ones: transient */
        struct finding *f = doctor_add(r, cw_class_id(g->cls), severity_of(g, o));
        if (!f)
            return -1;
        cw_describe(f, g, s, ports);
    }
    return 0;
}

/* The first pass: every outgoing, unpolled CLOSE_WAIT counted by (process,
 * server), with whether any of them shows a pool's evidence. */
static int gather_pools(const struct snapshot *s, struct cw_groups *pools)
{
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        const struct fd_ref *refs;
        size_t nref;
        if (t->state != TS_CLOSE_WAIT || !(nref = snapshot_owners(s, t->inode, &refs)) ||
            any_polled(refs, nref) || snapshot_conn_direction(s, t) != CONN_OUTGOING)
            continue;
        struct cw_group *g = group_for(pools, CW_CLIENT_POOL, refs[0].pid, -1, t->dst, t->dport);
        if (!g)
            return -1;
        g->pool_evidence |= pool_evidence(s, t);
    }
    return 0;
}

int rules_close_wait(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    struct cw_groups gs = {0};
    struct peer_index ix = {0};
    size_t persisted = 0, ncw = 0;
    for (size_t i = 0; i < s->nsocks; i++)
        ncw += s->socks[i].state == TS_CLOSE_WAIT;
    if (!ncw) {
        r->close_wait_transient += closed_since_first_look(s, 0);
        return 0;
    }
    struct cw_groups pools = {0};
    struct proc_count *unread = count_unread(s);
    struct doc_ports *ports = doc_ports_build(s);
    if (!unread || !ports || gather_pools(s, &pools) < 0 ||
        peers_build(&ix, s, 1u << TS_FIN_WAIT2 | 1u << TS_FIN_WAIT1) < 0) {
        free(unread);
        free(ports);
        free(pools.g);
        free(pools.slots);
        return -1;
    }
    struct cw_ctx ctx = {&ix, unread, &gs, &pools, ports};
    int rc = 0;
    for (size_t i = 0; i < s->nsocks && !rc; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state != TS_CLOSE_WAIT)
            continue;
        if (snapshot_sock_gone(s, t)) {
            r->close_wait_gone++;
            continue;
        }
        bool kept = snapshot_cw_persisted(s, t);
        persisted += kept;
        rc = classify(s, t, kept, &ctx, r);
    }
    r->close_wait_transient += closed_since_first_look(s, persisted);
    if (!rc) {
        count_pool_peers(s, &gs);
        rc = emit(s, o, &gs, ports, r);
    }
    peers_free(&ix);
    free(unread);
    free(ports);
    free(pools.g);
    free(pools.slots);
    free(gs.g);
    free(gs.slots);
    return rc;
}
