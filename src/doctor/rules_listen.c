/* listen-overflow and syn-recv-pile: the listener side of the handshake.
 * LISTEN sockets report the accept queue length in recv-q and the backlog
 * in send-q. */
#include <stdio.h>
#include <stdlib.h>

#include "doctor/doctor.h"

static void owner_of(const struct snapshot *s, const struct tcp_sock *t, struct finding *f)
{
    const struct fd_ref *r;
    if (snapshot_owners(s, t->inode, &r)) {
        f->pid = r->pid;
        snprintf(f->comm, sizeof f->comm, "%s", s->procs[r->proc].comm);
        finding_add_fd(f, r->fd);
    }
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
        struct finding *f = doctor_add(r, "listen-overflow", full ? SEV_CRITICAL : SEV_WARNING);
        if (!f)
            return -1;
        f->port = t->sport;
        f->count = t->rqueue;
        owner_of(s, t, f);
        finding_fact(f, "accept_queue", t->rqueue);
        finding_fact(f, "backlog", t->wqueue);
        finding_fact(f, "syn_recv", syn_recv[t->sport]);
        finding_fact(f, "ListenOverflows", (double)c->listen_overflows);
        finding_fact(f, "ListenDrops", (double)c->listen_drops);
        finding_fact(f, "tcp_syncookies", (double)s->sys.syncookies);
        finding_fact(f, "somaxconn", (double)s->sys.somaxconn);
        snprintf(f->title, sizeof f->title,
                 "port %u: accept queue %s: %u of backlog %u (ListenOverflows=%lld, "
                 "ListenDrops=%lld since boot)", t->sport, full ? "full" : "nearly full",
                 t->rqueue, t->wqueue, c->listen_overflows, c->listen_drops);
        snprintf(f->why, sizeof f->why,
                 "Completed connections wait in the accept queue until the process calls "
                 "accept(). When it is full the kernel drops the client's final ACK "
                 "(ListenOverflows), so connections stay half-open (SYN_RECV: %u now on this "
                 "port) and clients see connect delays and retransmitted SYNs.",
                 syn_recv[t->sport]);
        snprintf(f->fix, sizeof f->fix,
                 "Accept faster (accept until EAGAIN on every wake-up, more workers with "
                 "SO_REUSEPORT) and find why the process stalls. A larger backlog (listen() "
                 "argument, capped by net.core.somaxconn=%ld) only buys time. "
                 "tcp_syncookies=%ld%s.", s->sys.somaxconn, s->sys.syncookies,
                 s->sys.syncookies == 0 ? ": turn it on (1) so a SYN flood cannot fill the "
                                          "SYN queue"
                                        : " protects the SYN queue, not the accept queue");
    }
    return 0;
}

static int syn_piles(const struct snapshot *s, const struct doctor_opts *o,
                     struct doctor_report *r, const unsigned *syn_recv)
{
    for (int port = 1; port < 65536; port++) {
        if (syn_recv[port] < o->syn_recv_pile)
            continue;
        struct finding *f = doctor_add(r, "syn-recv-pile", SEV_WARNING);
        if (!f)
            return -1;
        f->port = port;
        f->count = syn_recv[port];
        finding_fact(f, "tcp_max_syn_backlog", (double)s->sys.max_syn_backlog);
        finding_fact(f, "tcp_syncookies", (double)s->sys.syncookies);
        finding_fact(f, "tcp_synack_retries", (double)s->sys.synack_retries);
        snprintf(f->title, sizeof f->title, "port %d: %u connections stuck in SYN_RECV", port,
                 syn_recv[port]);
        snprintf(f->why, sizeof f->why,
                 "SYN_RECV is a handshake waiting for the client's final ACK. A pile means "
                 "those ACKs do not arrive (a SYN flood with spoofed sources, a lossy path) or "
                 "are dropped because the accept queue is full.");
        snprintf(f->fix, sizeof f->fix,
                 "If the accept queue is full, see listen-overflow. For floods keep "
                 "tcp_syncookies=1 (now %ld); tcp_max_syn_backlog=%ld bounds the pile and "
                 "tcp_synack_retries=%ld sets how long each one waits.", s->sys.syncookies,
                 s->sys.max_syn_backlog, s->sys.synack_retries);
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
