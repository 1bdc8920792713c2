/* SPDX-License-Identifier: MIT */
/* fin-wait-2-pile and last-ack-pile: the two states where one side waits
 * on the other after a close. */
#include <stdio.h>
#include <stdlib.h>

#include "doctor/doctor.h"

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
