/* SPDX-License-Identifier: MIT */
/* The words of the CLOSE_WAIT findings: the evidence in numbers, then why
 * and fix for each class, in the terms of the runtime that owns the
 * sockets (an asyncio server is fixed with writer.close(), a Node one with
 * socket.end(), a thread per connection with a timeout on the call it is
 * blocked in). */
#include <stdio.h>

#include "doctor/close_wait.h"

static const enum finding_id cw_ids[CW_NCLASSES] = {
    [CW_UNACCEPTED] = F_CLOSE_WAIT_UNACCEPTED,   [CW_NOT_POLLED] = F_CLOSE_WAIT_NOT_POLLED,
    [CW_NOT_CLOSED] = F_CLOSE_WAIT_NOT_CLOSED,   [CW_HIDDEN] = F_CLOSE_WAIT_OWNER_HIDDEN,
    [CW_BLOCKED_THREAD] = F_CLOSE_WAIT_BLOCKED_THREAD,
    [CW_CLIENT_POOL] = F_CLOSE_WAIT_CLIENT_POOL,
};

enum finding_id cw_class_id(enum cw_class c)
{
    return cw_ids[c];
}

static void peers_text(struct finding *f, const struct cw_group *g)
{
    size_t off = 0, len = sizeof f->peers;
    for (size_t i = 0; i < g->npeers; i++) {
        const struct finding_endpoint *e = &g->peers[i];
        char a[64];
        tcp_addr_format(a, e->family, e->addr, e->port);
        if (off < len)
            off += (size_t)snprintf(f->peers + off, len - off, "%s%s", i ? ", " : "", a);
        f->peer_eps[f->npeer_eps++] = *e;
    }
    f->more_peers = g->more_peers;
    /* How many connections, never "+N more" for one peer's many ports. */
    if (off >= len)
        return;
    if (g->cls == CW_CLIENT_POOL || (g->npeers == 1 && g->port < 0))
        snprintf(f->peers + off, len - off, " (the server; %llu connection%s)", g->n,
                 g->n == 1 ? "" : "s");
    else if (g->more_peers)
        snprintf(f->peers + off, len - off, " and more (%llu connections)", g->n);
    else if (g->n > g->npeers)
        snprintf(f->peers + off, len - off, " (%llu connections)", g->n);
}

/* The other end when it is on this host: its state and who holds it. */
static void far_end_text(struct finding *f, const struct cw_group *g, const struct snapshot *s)
{
    const struct tcp_sock *p = g->peer_sock;
    if (!p)
        return;
    char a[64];
    tcp_addr_format(a, p->family, p->src, p->sport);
    finding_endpoint_set(&f->far_ep, p->family, p->src, p->sport);
    f->far_state = p->state;
    const struct fd_ref *r;
    size_t off = (size_t)snprintf(f->peer_on_host, sizeof f->peer_on_host,
                                  "%u of %llu on this host, e.g. %s in %s", g->peer_local, g->n,
                                  a, tcp_state_label(p->state));
    size_t len = sizeof f->peer_on_host;
    if (off >= len)
        return;
    if (snapshot_owners(s, p->inode, &r)) {
        snprintf(f->peer_on_host + off, len - off, " held by pid %d (%s), which closed or "
                 "shut down its side", (int)r->pid, s->procs[r->proc].comm);
        return;
    }
    off += (size_t)snprintf(f->peer_on_host + off, len - off,
                            ", orphaned: its process already called close()");
    if (off >= len || !snapshot_is_listen_port(s, p->sport))
        return;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *l = &s->socks[i];
        if (l->state == TS_LISTEN && l->sport == p->sport && snapshot_owners(s, l->inode, &r)) {
            snprintf(f->peer_on_host + off, len - off, " (port %u is served by pid %d, %s)",
                     p->sport, (int)r->pid, s->procs[r->proc].comm);
            return;
        }
    }
}

/* Tenths of a second, rounded as the text rounds them. */
static double tenths(uint32_t ms)
{
    return (double)((ms + 50) / 100) / 10.0;
}

static void numbers(struct finding *f, const struct cw_group *g, const struct snapshot *s,
                    const struct proc_model *m)
{
    f->count = g->n;
    f->port = g->port;
    f->recv_q = g->recv_q;
    finding_fact(f, "recv_q", (double)g->recv_q);
    for (size_t i = 0; i < g->nfds; i++)
        finding_add_fd(f, g->fds[i]);
    if (g->with_info) {
        /* last_ack_recv: the FIN (with its ACK) was the last segment in. */
        finding_fact(f, "age_min_s", tenths(g->age_min_ms));
        finding_fact(f, "age_max_s", tenths(g->age_max_ms));
    }
    if (s->confirm_s > 0)
        finding_fact(f, "new_since_first_look", (double)g->fresh);
    if (!g->pid)
        return;
    const struct proc_info *p = &s->procs[g->proc];
    f->pid = g->pid;
    snprintf(f->comm, sizeof f->comm, "%s", p->comm);
    f->processes = g->npids + g->more_pids;
    finding_program(f, g->prog);
    finding_protocol(f, &g->proto);
    finding_fact(f, "process_fds", p->nfds);
    if (p->fd_limit)
        finding_fact(f, "process_fd_limit", (double)p->fd_limit);
    finding_fact(f, "process_epoll_instances", p->nepoll);
    if (m)
        finding_fact(f, "process_threads", m->nthreads);
}

static void age_text(char *buf, size_t len, const struct cw_group *g)
{
    if (!g->with_info)
        buf[0] = 0;
    else if (tenths(g->age_min_ms) == tenths(g->age_max_ms))
        snprintf(buf, len, " The FIN%s came %.1f s ago.", g->n == 1 ? "" : "s",
                 tenths(g->age_max_ms));
    else
        snprintf(buf, len, " The FINs came %.1f to %.1f s ago.", tenths(g->age_min_ms),
                 tenths(g->age_max_ms));
}

/* The program and protocol of the group, from the catalogue: an accepted
 * connection's owner as the server of its port, an outgoing one's as a
 * client speaking the destination's protocol; the other end's program
 * when it is on this host. */
static void identify(struct cw_group *g, const struct snapshot *s, const struct doc_ports *ports,
                     struct finding *f)
{
    if (g->port >= 0) {
        uint32_t l = ports->listener[g->port];
        doc_proto_of_listener(s, l ? &s->socks[l - 1] : NULL, (uint16_t)g->port, &g->proto);
        if (g->pid)
            g->prog = doc_server(s, g->proc);
        const struct fd_ref *r;
        if (g->peer_sock && snapshot_owners(s, g->peer_sock->inode, &r))
            f->peer_program = doc_client(s, r->proc, g->proto.proto)->name;
        return;
    }
    if (g->npeers)
        doc_proto_of_dest(s, g->peers[0].family, g->peers[0].addr, g->peers[0].port, &g->proto);
    if (g->pid)
        g->prog = doc_client(s, g->proc, g->proto.proto);
    if (g->proto.server) {
        f->peer_program = g->proto.server->name;
        if (g->cls == CW_CLIENT_POOL)
            g->server_knob = catalog_knob(g->proto.server, g->proto.proto, K_POOL_SERVER);
    } else if (g->cls == CW_CLIENT_POOL && g->proto.proto != P_NONE) {
        g->server_knob = catalog_knob(catalog_runtime_program(CR_NATIVE), g->proto.proto,
                                      K_POOL_SERVER);
    }
}

void cw_describe(struct finding *f, struct cw_group *g, const struct snapshot *s,
                 const struct doc_ports *ports)
{
    const struct proc_model *m = g->pid ? snapshot_model(s, g->proc) : NULL;
    identify(g, s, ports, f);
    numbers(f, g, s, m);
    peers_text(f, g);
    far_end_text(f, g, s);
    char age[96];
    age_text(age, sizeof age, g);
    switch (g->cls) {
    case CW_UNACCEPTED: cw_text_unaccepted(f, g, s, age); break;
    case CW_HIDDEN: cw_text_hidden(f, g, s, age); break;
    case CW_NOT_CLOSED: cw_text_not_closed(f, g, age); break;
    case CW_NOT_POLLED: cw_text_not_polled(f, g, age); break;
    case CW_BLOCKED_THREAD: cw_text_blocked(f, g, m, s, age); break;
    case CW_CLIENT_POOL: cw_text_pool(f, g, age); break;
    case CW_NCLASSES: break;
    }
}
