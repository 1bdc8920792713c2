/* SPDX-License-Identifier: MIT */
/* listen-overflow and syn-recv-pile: the listener side of the handshake.
 * LISTEN sockets report the accept queue length in recv-q and the backlog
 * in send-q. The TcpExt counters are per network namespace.
 *
 * Kernel facts (tcp_conn_request, tcp_check_req): while the accept queue is
 * full, new SYNs are dropped (ListenOverflows + ListenDrops) and final ACKs
 * of handshakes already answered are dropped too (the request stays in
 * SYN_RECV and the SYN-ACK is retransmitted). The SYN queue (SYN_RECV) is
 * bounded by the listen backlog; when it is full, tcp_syncookies=1 answers
 * with a cookie instead of queueing (TCPReqQFullDoCookies, SyncookiesSent),
 * tcp_syncookies=0 drops (TCPReqQFullDrop) and, without cookies only,
 * tcp_max_syn_backlog drops unproven peers once the queue is 3/4 of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "doctor/program.h"
#include "snapshot/twfold.h"

static void owner_of(const struct snapshot *s, const struct tcp_sock *t, struct finding *f)
{
    const struct fd_ref *r;
    if (snapshot_owners(s, t->inode, &r)) {
        f->pid = r->pid;
        snprintf(f->comm, sizeof f->comm, "%s", s->procs[r->proc].comm);
        finding_add_fd(f, r->fd);
    }
}

#define LOCAL_ADDRS_MAX 16

/* Clients on this host still sending SYNs to the listener l: SYN_SENT to
 * its port at its address (or, for a wildcard listener, at loopback or at
 * an address that the port's own connections use locally — up to
 * LOCAL_ADDRS_MAX of them, gathered once). */
static unsigned syn_sent_to(const struct snapshot *s, const struct tcp_sock *l)
{
    uint8_t local[LOCAL_ADDRS_MAX][16];
    size_t nlocal = 0;
    bool any = tcp_addr_is_any(l->family, l->src);
    for (size_t i = 0; any && i < s->nsocks && nlocal < LOCAL_ADDRS_MAX; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->sport != l->sport || t->state == TS_LISTEN)
            continue;
        size_t k = 0;
        while (k < nlocal && memcmp(local[k], t->src, 16))
            k++;
        if (k == nlocal)
            memcpy(local[nlocal++], t->src, 16);
    }
    /* Folded TIME_WAIT: their local addresses after the records' (the same
     * set unless the port has more than LOCAL_ADDRS_MAX). */
    const struct tw_local *tl = any ? tw_fold_local(s->twf, l->sport) : NULL;
    for (size_t j = 0; tl && j < tl->n && nlocal < LOCAL_ADDRS_MAX; j++) {
        size_t k = 0;
        while (k < nlocal && memcmp(local[k], tl->addr[j], 16))
            k++;
        if (k == nlocal)
            memcpy(local[nlocal++], tl->addr[j], 16);
    }
    unsigned n = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state != TS_SYN_SENT || t->dport != l->sport)
            continue;
        bool here = !any ? !memcmp(t->dst, l->src, 16) : tcp_addr_is_loopback(t->family, t->dst);
        for (size_t k = 0; !here && k < nlocal; k++)
            here = !memcmp(local[k], t->dst, 16);
        n += here;
    }
    return n;
}

static void counter_facts(struct finding *f, const struct tcp_counters *c)
{
    finding_fact(f, "ListenOverflows", (double)c->listen_overflows);
    finding_fact(f, "ListenDrops", (double)c->listen_drops);
    finding_fact(f, "SyncookiesSent", (double)c->syncookies_sent);
    finding_fact(f, "TCPReqQFullDoCookies", (double)c->reqq_full_do_cookies);
    finding_fact(f, "TCPReqQFullDrop", (double)c->reqq_full_drop);
}

static int accept_queues(const struct snapshot *s, const struct doctor_opts *o,
                         struct doctor_report *r, const unsigned *syn_recv)
{
    const struct tcp_counters *c = &s->ctr;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state != TS_LISTEN)
            continue;
        /* The kernel's "full" test is queue > backlog; at == it still
         * accepts one more, so treat >= as full for a report. */
        bool full = t->rqueue >= t->wqueue && t->rqueue > 0;
        bool near = !full && t->wqueue > 0 && t->rqueue * 100 >= t->wqueue * o->listen_near_pct;
        if (!full && !near)
            continue;
        struct finding *f = doctor_add(r, F_LISTEN_OVERFLOW, full ? SEV_CRITICAL : SEV_WARNING);
        if (!f)
            return -1;
        unsigned syn_sent = syn_sent_to(s, t);
        f->port = t->sport;
        f->count = t->rqueue;
        owner_of(s, t, f);
        finding_fact(f, "accept_queue", t->rqueue);
        finding_fact(f, "backlog", t->wqueue);
        finding_fact(f, "syn_recv", syn_recv[t->sport]);
        finding_fact(f, "syn_sent_local_clients", syn_sent);
        counter_facts(f, c);
        finding_fact(f, "tcp_syncookies", (double)s->sys.syncookies);
        finding_fact(f, "somaxconn", (double)s->sys.somaxconn);
        snprintf(f->title, sizeof f->title,
                 "port %u: accept queue %s: %u of backlog %u (ListenOverflows=%lld, "
                 "ListenDrops=%lld in this network namespace)%s", t->sport,
                 full ? "full" : "nearly full", t->rqueue, t->wqueue, c->listen_overflows,
                 c->listen_drops, full && syn_sent ? "; clients here wait in SYN_SENT" : "");
        char clients[160] = "";
        if (syn_sent)
            snprintf(clients, sizeof clients,
                     " %u client socket%s on this host sit%s in SYN_SENT towards this port now, "
                     "their SYNs dropped.", syn_sent, syn_sent == 1 ? "" : "s",
                     syn_sent == 1 ? "s" : "");
        snprintf(f->why, sizeof f->why,
                 "Completed connections wait in the accept queue until the process calls "
                 "accept(). While it is full the kernel drops new SYNs (ListenOverflows, "
                 "ListenDrops): clients stay in SYN_SENT and retry after 1, 3, 7 s..., which "
                 "shows as connect() latency and timeouts.%s Handshakes already answered lose "
                 "their final ACK the same way and wait in SYN_RECV (%u on this port now) "
                 "while the SYN-ACK is retransmitted.", clients, syn_recv[t->sport]);
        const struct fd_ref *lr;
        const struct cat_program *prog = snapshot_owners(s, t->inode, &lr)
                                             ? doc_server(s, lr->proc)
                                             : catalog_runtime_program(CR_NATIVE);
        if (f->pid)
            finding_program(f, prog);
        struct doc_proto pr;
        doc_proto_of_server(s, t->sport, &pr);
        finding_protocol(f, &pr);
        snprintf(f->fix, sizeof f->fix,
                 "Accept faster (accept until EAGAIN on every wake-up, more workers with "
                 "SO_REUSEPORT) and find why the process stalls. A larger backlog only buys "
                 "time: %s (capped by net.core.somaxconn=%ld). "
                 "tcp_syncookies=%ld%s.", catalog_knob(prog, pr.proto, K_BACKLOG),
                 s->sys.somaxconn, s->sys.syncookies,
                 s->sys.syncookies == 0 ? ": turn it on (1) so a SYN flood cannot fill the "
                                          "SYN queue"
                                        : " protects the SYN queue, not the accept queue: "
                                          "cookies do not help while accept() lags");
    }
    return 0;
}

/* The listener on port, or NULL. */
static const struct tcp_sock *listener(const struct snapshot *s, int port)
{
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].state == TS_LISTEN && s->socks[i].sport == port)
            return &s->socks[i];
    return NULL;
}

static void syn_fix(const struct snapshot *s, const struct tcp_sock *l, struct finding *f)
{
    long cookies = s->sys.syncookies;
    unsigned backlog = l ? l->wqueue : 0;
    if (cookies == 1)
        snprintf(f->fix, sizeof f->fix,
                 "tcp_syncookies=1: the SYN_RECV pile is bounded by the listen backlog (%u on "
                 "this port: the listen() argument, capped by net.core.somaxconn=%ld), not by "
                 "tcp_max_syn_backlog=%ld; past it the kernel answers with SYN cookies "
                 "(SyncookiesSent=%lld, TCPReqQFullDoCookies=%lld) and connections still "
                 "complete. If the ACKs are dropped because the accept queue is full, see "
                 "listen-overflow; against a flood cookies already hold; "
                 "tcp_synack_retries=%ld sets how long each entry waits (lower it to shrink "
                 "the pile).", backlog, s->sys.somaxconn, s->sys.max_syn_backlog,
                 s->ctr.syncookies_sent, s->ctr.reqq_full_do_cookies, s->sys.synack_retries);
    else if (cookies == 2)
        snprintf(f->fix, sizeof f->fix,
                 "tcp_syncookies=2 answers every SYN with a cookie and queues none, so these "
                 "entries predate it or come from another path; tcp_synack_retries=%ld sets "
                 "how long each waits.", s->sys.synack_retries);
    else
        snprintf(f->fix, sizeof f->fix,
                 "tcp_syncookies=%ld: without cookies a full SYN queue drops new SYNs "
                 "(TCPReqQFullDrop=%lld) and, from 3/4 of tcp_max_syn_backlog=%ld, SYNs from "
                 "peers not seen before; the queue itself is bounded by the listen backlog (%u "
                 "here, capped by somaxconn=%ld). Turn tcp_syncookies=1 on against floods; "
                 "tcp_synack_retries=%ld sets how long each entry waits. If the accept queue is "
                 "full, see listen-overflow.", cookies, s->ctr.reqq_full_drop,
                 s->sys.max_syn_backlog, backlog, s->sys.somaxconn, s->sys.synack_retries);
}

static int syn_piles(const struct snapshot *s, const struct doctor_opts *o,
                     struct doctor_report *r, const unsigned *syn_recv)
{
    for (int port = 1; port < 65536; port++) {
        if (syn_recv[port] < o->syn_recv_pile)
            continue;
        struct finding *f = doctor_add(r, F_SYN_RECV_PILE, SEV_WARNING);
        if (!f)
            return -1;
        const struct tcp_sock *l = listener(s, port);
        f->port = port;
        f->count = syn_recv[port];
        if (l)
            owner_of(s, l, f);
        finding_fact(f, "backlog", l ? l->wqueue : 0);
        finding_fact(f, "tcp_max_syn_backlog", (double)s->sys.max_syn_backlog);
        finding_fact(f, "tcp_syncookies", (double)s->sys.syncookies);
        finding_fact(f, "tcp_synack_retries", (double)s->sys.synack_retries);
        counter_facts(f, &s->ctr);
        snprintf(f->title, sizeof f->title,
                 "port %d: %u connections stuck in SYN_RECV (SyncookiesSent=%lld in this "
                 "network namespace)", port, syn_recv[port], s->ctr.syncookies_sent);
        snprintf(f->why, sizeof f->why,
                 "SYN_RECV is a handshake waiting for the client's final ACK. A pile means "
                 "those ACKs do not arrive (a SYN flood with spoofed sources, a lossy path) or "
                 "are dropped because the accept queue is full%s.",
                 l && l->rqueue >= l->wqueue && l->rqueue ? " (it is full now on this port)" : "");
        syn_fix(s, l, f);
    }
    return 0;
}

int rules_listen(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    unsigned *syn_recv = calloc(65536, sizeof *syn_recv);
    if (!syn_recv)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state == TS_SYN_RECV || t->state == TS_NEW_SYN_RECV)
            syn_recv[t->sport]++;
    }
    int rc = accept_queues(s, o, r, syn_recv);
    if (!rc)
        rc = syn_piles(s, o, r, syn_recv);
    free(syn_recv);
    return rc;
}
