/* SPDX-License-Identifier: MIT */
/* fin-wait-2-pile and last-ack-pile: the two states where one side waits
 * on the other after a close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "snapshot/peers.h"

#define MAX_OWNERS 8

/* The other ends of the FIN_WAIT2 sockets that are on this host (their
 * CLOSE_WAIT sockets are in the same snapshot), and who holds them. */
struct peer_owner {
    pid_t pid;
    uint32_t proc;
    unsigned n;
    const struct tcp_sock *example; /* one of its peer sockets */
};
struct local_peers {
    unsigned n;                      /* FIN_WAIT2 whose peer socket is here */
    unsigned unaccepted, hidden;     /* of those peers: in an accept queue; owner not visible */
    const struct tcp_sock *example;  /* a peer socket, the top owner's when there is one */
    struct peer_owner owners[MAX_OWNERS];
    size_t nowners;                  /* distinct owners counted (the first MAX_OWNERS) */
    size_t top;                      /* the owner holding the most */
};

static void count_owner(struct local_peers *lp, const struct tcp_sock *peer,
                        const struct fd_ref *ref)
{
    size_t i = 0;
    while (i < lp->nowners && lp->owners[i].pid != ref->pid)
        i++;
    if (i == MAX_OWNERS)
        return;
    if (i == lp->nowners)
        lp->owners[lp->nowners++] = (struct peer_owner){ref->pid, ref->proc, 0, peer};
    lp->owners[i].n++;
}

static int local_peers(const struct snapshot *s, struct local_peers *lp)
{
    struct peer_index ix = {0};
    memset(lp, 0, sizeof *lp);
    if (peers_build(&ix, s, 1u << TS_CLOSE_WAIT) < 0)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *p;
        if (s->socks[i].state != TS_FIN_WAIT2 || !(p = peers_find(&ix, s, &s->socks[i])))
            continue;
        lp->n++;
        if (!lp->example)
            lp->example = p;
        const struct fd_ref *ref;
        if (!p->inode)
            lp->unaccepted++;
        else if (!snapshot_owners(s, p->inode, &ref))
            lp->hidden++;
        else
            count_owner(lp, p, ref);
    }
    peers_free(&ix);
    for (size_t i = 1; i < lp->nowners; i++)
        if (lp->owners[i].n > lp->owners[lp->top].n)
            lp->top = i;
    if (lp->nowners)
        lp->example = lp->owners[lp->top].example;
    return 0;
}

/* far end and fix of fin-wait-2-pile when (some of) the peers are here. */
static void peers_here(struct finding *f, const struct snapshot *s, const struct local_peers *lp,
                       size_t n)
{
    const struct tcp_sock *p = lp->example;
    char a[64], who[64] = "", tail[600];
    tcp_addr_format(a, p->family, p->src, p->sport);
    finding_endpoint_set(&f->far_ep, p->family, p->src, p->sport);
    f->far_state = p->state;
    if (lp->nowners)
        snprintf(who, sizeof who, "pid %d (%s)", (int)lp->owners[lp->top].pid,
                 s->procs[lp->owners[lp->top].proc].comm);
    const struct fd_ref *ref;
    char held[80] = ", not accepted yet (in the listener's accept queue)";
    if (p->inode && !snapshot_owners(s, p->inode, &ref))
        snprintf(held, sizeof held, ", held by a process closer cannot see");
    else if (p->inode)
        snprintf(held, sizeof held, " held by pid %d (%.15s)", (int)ref->pid,
                 s->procs[ref->proc].comm);
    snprintf(f->peer_on_host, sizeof f->peer_on_host, "%u of %zu on this host, e.g. %.47s in %.11s%s",
             lp->n, n, a, tcp_state_label(p->state), held);
    size_t off = 0;
    tail[0] = 0;
    if (lp->nowners) {
        unsigned held = lp->owners[lp->top].n;
        off += (size_t)snprintf(tail, sizeof tail, "%s holds %u of them", who, held);
        if (lp->nowners > 1)
            off += (size_t)snprintf(tail + off, sizeof tail - off, ", %zu other process%s the rest",
                                    lp->nowners - 1, lp->nowners == 2 ? "" : "es");
    }
    if (lp->unaccepted && off < sizeof tail)
        off += (size_t)snprintf(tail + off, sizeof tail - off, "%s%u %s not accepted yet",
                                off ? "; " : "", lp->unaccepted, lp->unaccepted == 1 ? "is" : "are");
    if (lp->hidden && off < sizeof tail)
        snprintf(tail + off, sizeof tail - off, "%s%u %s held by a process closer cannot see",
                 off ? "; " : "", lp->hidden, lp->hidden == 1 ? "is" : "are");
    if (lp->n == n)
        snprintf(f->fix, sizeof f->fix,
                 "The peers are on this host, in CLOSE_WAIT: %s. That program does not close "
                 "them; its close-wait-* finding says which code path and what to change. "
                 "tcp_fin_timeout bounds orphaned FIN_WAIT2 only — it is not the TIME_WAIT "
                 "length.", tail);
    else
        snprintf(f->fix, sizeof f->fix,
                 "%u of the peers are on this host, in CLOSE_WAIT: %s (see the close-wait-* "
                 "findings). The other %zu are not closing either (CLOSE_WAIT on their side; run "
                 "closer doctor on their hosts). tcp_fin_timeout bounds orphaned FIN_WAIT2 only "
                 "— it is not the TIME_WAIT length.", lp->n, tail, n - lp->n);
}

/* The local port holding most sockets in state; -1 when none (or no
 * memory: the finding is still made, without a port). */
static int busiest_port(const struct snapshot *s, int state, unsigned *n_out)
{
    unsigned *counts = calloc(65536, sizeof *counts);
    int best = -1;
    *n_out = 0;
    if (!counts)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        uint16_t p = s->socks[i].sport;
        if (s->socks[i].state == state && ++counts[p] > *n_out)
            *n_out = counts[p], best = p;
    }
    free(counts);
    return best;
}

static int fin_wait_2(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    size_t n = r->counts[TS_FIN_WAIT2], orphans = 0;
    if (n < o->orphan_pile)
        return 0;
    for (size_t i = 0; i < s->nsocks; i++)
        orphans += s->socks[i].state == TS_FIN_WAIT2 && s->socks[i].inode == 0;
    struct finding *f = doctor_add(r, F_FIN_WAIT_2_PILE, SEV_WARNING);
    if (!f)
        return -1;
    unsigned top;
    f->count = n;
    f->port = busiest_port(s, TS_FIN_WAIT2, &top);
    finding_fact(f, "orphaned", (double)orphans);
    finding_fact(f, "busiest_port_count", top);
    finding_fact(f, "tcp_fin_timeout", (double)s->sys.fin_timeout);
    snprintf(f->title, sizeof f->title, "%zu FIN_WAIT2 (%zu orphaned), most on port %d", n,
             orphans, f->port);
    snprintf(f->why, sizeof f->why,
             "FIN_WAIT2: this host sent FIN, the peer ACKed it but has not sent its own FIN; the "
             "peer's application has not closed (its socket is in CLOSE_WAIT). Orphaned ones "
             "(closed by us) expire after net.ipv4.tcp_fin_timeout=%lds; ones still owned "
             "(shutdown(SHUT_WR)) wait for as long as the process keeps them.",
             s->sys.fin_timeout);
    struct local_peers lp;
    if (local_peers(s, &lp) < 0)
        return -1;
    finding_fact(f, "peers_on_host", lp.n);
    if (lp.n) {
        peers_here(f, s, &lp, n);
        return 0;
    }
    snprintf(f->fix, sizeof f->fix,
             "Look at the peers: they are not closing (CLOSE_WAIT on their side; run closer "
             "doctor there). tcp_fin_timeout bounds orphaned FIN_WAIT2 only — it is not the "
             "TIME_WAIT length.");
    return 0;
}

static int last_ack(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    size_t n = r->counts[TS_LAST_ACK];
    if (n < o->orphan_pile)
        return 0;
    struct finding *f = doctor_add(r, F_LAST_ACK_PILE, SEV_WARNING);
    if (!f)
        return -1;
    unsigned top;
    f->count = n;
    f->port = busiest_port(s, TS_LAST_ACK, &top);
    finding_fact(f, "busiest_port_count", top);
    finding_fact(f, "tcp_orphan_retries", (double)s->sys.orphan_retries);
    snprintf(f->title, sizeof f->title, "%zu LAST_ACK, most on port %d", n, f->port);
    snprintf(f->why, sizeof f->why,
             "LAST_ACK: the peer closed first, this host answered with its own FIN and waits "
             "for the final ACK, retransmitting the FIN meanwhile. A pile means those ACKs are "
             "lost: peers that vanished, a firewall or NAT that forgot the flow, or packet "
             "loss.");
    snprintf(f->fix, sizeof f->fix,
             "Check the path to the peers (conntrack/NAT timeouts, drops). Each retransmits "
             "until tcp_orphan_retries (%ld; 0 means 8) gives up.", s->sys.orphan_retries);
    return 0;
}

int rules_orphans(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    if (fin_wait_2(s, o, r) < 0)
        return -1;
    return last_ack(s, o, r);
}
